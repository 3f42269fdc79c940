#!/usr/bin/env node
/**
 * The `gleitzeit` executable: the composition root of the CLI.
 */
import { Command, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Cli from "./Cli.js"
import * as ExitCode from "./ExitCode.js"

const main = Command.run(Cli.command, { name: "gleitzeit", version: "0.1.0" })

/** The chain of underlying causes of an error (e.g. the database's message behind a SqlError). */
const causes = (error: unknown): string => {
  const lines: Array<string> = []
  let current = (error as { cause?: unknown } | undefined)?.cause
  while (current !== undefined && current !== null && lines.length < 5) {
    lines.push(`caused by: ${current instanceof Error ? current.message : String(current)}\n`)
    current = (current as { cause?: unknown }).cause
  }
  return lines.join("")
}

const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return ExitCode.Ok
  if (Cause.isInterruptedOnly(exit.cause)) return ExitCode.isStoppedOnRequest() ? ExitCode.Ok : ExitCode.Interrupted
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    if (error instanceof ExitCode.Exit) return error.code
    if (ValidationError.isValidationError(error)) return ExitCode.InvalidInput
  }
  process.stderr.write(`internal error:\n${Cause.pretty(exit.cause)}\n${causes(Cause.squash(exit.cause))}`)
  return ExitCode.Internal
}

// Logs go to stderr: stdout carries results (run ids, JSON) that scripts read.
const logger = Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))

/** `GLEITZEIT_LOG_LEVEL` (e.g. `debug`, `info`) shows more than warnings, e.g. what a node is doing. */
const logLevel =
  LogLevel.allLevels.find((level) =>
    level.label.toLowerCase() === (process.env["GLEITZEIT_LOG_LEVEL"] ?? "warning").toLowerCase()
  ) ?? LogLevel.Warning

main(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  Effect.provide(logger),
  Logger.withMinimumLogLevel(logLevel),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(exitCodeOf(exit))
  })
)
