#!/usr/bin/env node
/**
 * The `gleitzeit` executable: reads the environment (and only here), normalizes the command line, runs the command
 * tree of the composition root (`Cli`), and exits with the status `ExitCode.report` gives.
 */
import { CliConfig as EffectCliConfig } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Redact } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Cli from "./Cli.js"
import * as CliConfig from "./CliConfig.js"
import * as ExitCode from "./ExitCode.js"
import * as Output from "./Output.js"

const secretPrefix = "GLEITZEIT_SECRET_"
const environment: Cli.Environment = {
  config: CliConfig.fromEnv(),
  ollamaHost: process.env["OLLAMA_HOST"],
  secrets: Object.fromEntries(
    Object.entries(process.env).flatMap(([key, value]) =>
      key.startsWith(secretPrefix) && value !== undefined ? [[key.slice(secretPrefix.length), value]] : []
    )
  )
}

const output = Output.layer(
  {
    write: (text) => process.stdout.write(text),
    isTTY: process.stdout.isTTY === true,
    columns: () => process.stdout.columns
  },
  { write: (text) => process.stderr.write(text), isTTY: process.stderr.isTTY === true }
)

// Logs go to stderr: stdout carries results (run ids, JSON) that scripts read.
const logger = Logger.replace(
  Logger.defaultLogger,
  Logger.prettyLogger({ stderr: true, colors: process.stderr.isTTY === true })
)

/** `GLEITZEIT_LOG_LEVEL` (e.g. `debug`, `info`) shows more than warnings, e.g. what a node is doing. */
const logLevel =
  LogLevel.allLevels.find((level) =>
    level.label.toLowerCase() === (process.env["GLEITZEIT_LOG_LEVEL"] ?? "warning").toLowerCase()
  ) ?? LogLevel.Warning

Cli.program(environment, process.argv).pipe(
  Effect.provide(Layer.mergeAll(NodeContext.layer, logger, output, EffectCliConfig.layer({ showBuiltIns: false }))),
  Logger.withMinimumLogLevel(logLevel),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => {
      const report = ExitCode.report(exit)
      for (const text of report.lines) process.stderr.write(`${Redact.text(text)}\n`)
      onExit(report.code)
    }
  })
)
