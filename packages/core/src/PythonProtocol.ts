/**
 * `python/v1`: Python code run in a sandbox (a container or an OS sandbox, never the runtime's process). The
 * script sees the task's `context` as a global and sets a top-level `result`; how it ended (an exception, a
 * non-zero exit, a timeout, an out-of-memory kill) is a typed failure, never a completed task.
 */
import * as Schema from "effect/Schema"
import { Json, JsonObject } from "./Json.js"
import * as Protocol from "./Protocol.js"

/** The limits used when a task gives none: 256 MiB, one CPU, 64 processes, 30 s. */
export const defaults = { memory_mb: 256, cpus: 1, pids: 64, timeout: 30 } as const

/** Resource limits of one execution; omitted keys take the provider's defaults. */
export const Limits = Schema.Struct({
  /** Memory (and swap) in MiB. */
  memory_mb: Schema.optional(Schema.Int.pipe(Schema.between(16, 65536))),
  /** CPUs (fractions allowed). */
  cpus: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(256))),
  /** Processes and threads. */
  pids: Schema.optional(Schema.Int.pipe(Schema.between(1, 65536)))
})

/** Resource limits of one execution. */
export type Limits = typeof Limits.Type

const source = {
  /** The Python source to run. */
  code: Schema.optional(Schema.String),
  /** A Python file on the runtime's host, read there (within the provider's allowed roots) and run as code. */
  file: Schema.optional(Schema.String.pipe(Schema.minLength(1)))
}

const oneSource = (p: { readonly code?: string | undefined; readonly file?: string | undefined }) =>
  (p.code === undefined) !== (p.file === undefined) || "give either 'code' or 'file' (exactly one)"

/** Params of `python/execute`. `timeout` is in seconds. */
export const ExecuteParams = Schema.Struct({
  ...source,
  /** Visible to the script as the global `context`. */
  context: Schema.optionalWith(JsonObject, { default: () => ({}) }),
  timeout: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(86400))),
  limits: Schema.optionalWith(Limits, { default: () => ({}) }),
  /**
   * Code written by the workflow's author (not by an LLM or a user): it may run in a reused warm container,
   * which is faster but shares that container with earlier trusted executions. Default: false.
   */
  trusted: Schema.optional(Schema.Boolean)
}).pipe(Schema.filter(oneSource))

/** Params of `python/execute`. */
export type ExecuteParams = typeof ExecuteParams.Type

/** Result of `python/execute`: the script's `result` (JSON), its output, exit code and wall time. */
export const ExecuteResult = Schema.Struct({
  result: Json,
  stdout: Schema.String,
  stderr: Schema.String,
  exit_code: Schema.Number,
  duration_ms: Schema.Number
})

/** Result of `python/execute`. */
export type ExecuteResult = typeof ExecuteResult.Type

/** Params of `python/validate`. */
export const ValidateParams = Schema.Struct(source).pipe(Schema.filter(oneSource))

/** Params of `python/validate`. */
export type ValidateParams = typeof ValidateParams.Type

/** Where and why code does not compile (line and column from 1, when Python knows them). */
export const SyntaxIssue = Schema.Struct({
  message: Schema.String,
  line: Schema.NullOr(Schema.Number),
  column: Schema.NullOr(Schema.Number)
})

/** Result of `python/validate`. */
export const ValidateResult = Schema.Struct({
  valid: Schema.Boolean,
  error: Schema.optional(SyntaxIssue)
})

/** Result of `python/validate`. */
export type ValidateResult = typeof ValidateResult.Type

/** The `python/v1` protocol. */
export const spec = Protocol.make("python/v1", [
  Protocol.method({
    name: "python/execute",
    protocol: "python/v1",
    hostPaths: ["file"],
    pythonSource: ["code"],
    description: "Run Python in a sandbox with `context`; returns its top-level `result`, stdout and stderr",
    params: ExecuteParams,
    result: ExecuteResult
  }),
  Protocol.method({
    name: "python/validate",
    protocol: "python/v1",
    hostPaths: ["file"],
    pythonSource: ["code"],
    description: "Check Python code for syntax errors without running it",
    params: ValidateParams,
    result: ValidateResult,
    idempotent: true
  })
])
