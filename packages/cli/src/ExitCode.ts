/**
 * The exit statuses of `gleitzeit` (documented in the README; scripts rely on them), and the one place where a
 * command's failure becomes an exit status and the message printed for it.
 */
import { ValidationError } from "@effect/cli"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Printer from "./Printer.js"

/** Success: the run completed, the workflow is valid, the query found what it asked for. */
export const Ok = 0
/** The run ended without completing: failed, cancelled or timed out. */
export const RunNotCompleted = 1
/** The input is invalid: a workflow that does not parse or validate, a bad configuration, bad usage. */
export const InvalidInput = 2
/** The run does not exist, or is in a state that does not allow the operation. */
export const NotFound = 3
/** A service the command needs is unreachable (the database, Redis, an LLM endpoint, a listen address). */
export const Unavailable = 69
/** An unexpected internal error. */
export const Internal = 70
/** Interrupted (Ctrl-C): the run was cancelled cleanly. */
export const Interrupted = 130

/** The run a command followed ended without completing (its outcome was already printed). */
export class RunEnded extends Data.TaggedError("RunEnded")<{ readonly status: string }> {}

/** Bad usage that the option parser cannot see (e.g. `resume` without a run id or `--all`). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Something a command looked for does not exist (e.g. no runs yet, an unknown task of a run). */
export class NotFoundError extends Data.TaggedError("NotFoundError")<{ readonly message: string }> {}

let stoppedOnRequest = false

/** Records that the command stopped on request (a node drained after SIGTERM/Ctrl-C): its exit status is 0. */
export const markStoppedOnRequest = (): void => {
  stoppedOnRequest = true
}

/** What ending a command prints (on stderr) and its exit status. */
export interface Report {
  readonly code: number
  readonly lines: ReadonlyArray<string>
}

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

const messageOf = (error: unknown): string =>
  error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
    ? String((error as { message: unknown }).message)
    : String(error)

/** The first line of the chain of causes of an error (e.g. the database's own message behind a SqlError). */
const rootCause = (error: unknown): string | undefined => {
  let current = (error as { cause?: unknown } | undefined)?.cause
  let last: string | undefined
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    last = messageOf(current).split("\n")[0]
    current = (current as { cause?: unknown }).cause
  }
  return last
}

/** The failure of a service at the process's edge (database, Redis, a port), as one line; undefined otherwise. */
const unavailable = (error: unknown): string | undefined => {
  switch (tagOf(error)) {
    case "SqlError": {
      const cause = rootCause(error)
      return `the database is unreachable: ${messageOf(error)}${cause === undefined ? "" : ` (${cause})`}` +
        " — check `database` in gleitzeit.yaml or GLEITZEIT_DATABASE"
    }
    case "RedisUnavailable":
    case "RedisError":
    case "ListenError":
    case "ServiceUnavailable":
      return messageOf(error)
  }
  return undefined
}

/** Maps a typed failure to its report; undefined for what is not a known failure. */
const ofFailure = (error: unknown): Report | undefined => {
  switch (tagOf(error)) {
    case "RunEnded":
      return { code: RunNotCompleted, lines: [] }
    case "UsageError":
    case "ConfigurationError":
    case "WorkflowFileError":
    case "WorkflowParseError":
    case "WorkflowValidationError":
      return { code: InvalidInput, lines: [`✘ ${Printer.escape(messageOf(error), { keepNewlines: true })}`] }
    case "RunNotFound":
    case "InvalidRunState":
    case "NotFoundError":
      return { code: NotFound, lines: [`✘ ${Printer.escape(messageOf(error), { keepNewlines: true })}`] }
  }
  // The option parser has already printed its message and the usage.
  if (ValidationError.isValidationError(error)) return { code: InvalidInput, lines: [] }
  const service = unavailable(error)
  return service === undefined
    ? undefined
    : { code: Unavailable, lines: [`✘ ${Printer.escape(service, { keepNewlines: true })}`] }
}

/** The report of how a command ended: the one place errors become exit statuses and messages. */
export const report = (exit: Exit.Exit<unknown, unknown>): Report => {
  if (Exit.isSuccess(exit)) return { code: Ok, lines: [] }
  if (Cause.isInterruptedOnly(exit.cause)) return { code: stoppedOnRequest ? Ok : Interrupted, lines: [] }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const known = ofFailure(failure.value)
    if (known !== undefined) return known
  }
  // A service failing below a layer that could not handle it (e.g. the database going away mid-command).
  for (const defect of Cause.defects(exit.cause)) {
    const service = unavailable(defect)
    if (service !== undefined) {
      return { code: Unavailable, lines: [`✘ ${Printer.escape(service, { keepNewlines: true })}`] }
    }
  }
  const squashed = Cause.squash(exit.cause)
  const chain: Array<string> = []
  let current = (squashed as { cause?: unknown } | undefined)?.cause
  while (current !== undefined && current !== null && chain.length < 5) {
    chain.push(`caused by: ${messageOf(current)}`)
    current = (current as { cause?: unknown }).cause
  }
  return { code: Internal, lines: ["internal error:", Cause.pretty(exit.cause), ...chain] }
}
