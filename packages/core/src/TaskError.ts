/**
 * Failures of a task attempt that the engine itself detects, and `TaskFailure`, the union of everything a task
 * can fail with. Every member is a `Schema.TaggedError` with a JSON-RPC `code` and a `retryable` verdict, so a
 * failure survives the journal and the wire unchanged.
 */
import * as Schema from "effect/Schema"
import * as ErrorCode from "./ErrorCode.js"
import { ProviderError } from "./ProviderError.js"

/** A `${…}` reference in the task's params could not be resolved; no provider was called. */
export class UnresolvedReference extends Schema.TaggedError<UnresolvedReference>("@gleitzeit/UnresolvedReference")(
  "UnresolvedReference",
  {
    taskId: Schema.String,
    reference: Schema.String,
    message: Schema.String
  }
) {
  /** Not retryable: the referenced results do not change. */
  get retryable(): boolean {
    return false
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.ParameterError
  }
}

/** The params do not match the method's schema. */
export class InvalidParams extends Schema.TaggedError<InvalidParams>("@gleitzeit/InvalidParams")("InvalidParams", {
  method: Schema.String,
  message: Schema.String
}) {
  /** Not retryable. */
  get retryable(): boolean {
    return false
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.InvalidParams
  }
}

/** No provider serves the method. */
export class MethodNotFound extends Schema.TaggedError<MethodNotFound>("@gleitzeit/MethodNotFound")(
  "MethodNotFound",
  {
    method: Schema.String,
    message: Schema.String
  }
) {
  /** Not retryable. */
  get retryable(): boolean {
    return false
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.MethodNotFound
  }
}

/** The attempt exceeded the task's timeout and was interrupted. */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>("@gleitzeit/TaskTimeout")("TaskTimeout", {
  taskId: Schema.String,
  timeoutMs: Schema.Number,
  message: Schema.String
}) {
  /** Retryable: a later attempt may be faster. */
  get retryable(): boolean {
    return true
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.TaskTimeout
  }
}

/** The attempt was cancelled (run cancelled, fail-fast, workflow deadline). */
export class TaskCancelled extends Schema.TaggedError<TaskCancelled>("@gleitzeit/TaskCancelled")("TaskCancelled", {
  taskId: Schema.String,
  message: Schema.String
}) {
  /** Not retryable. */
  get retryable(): boolean {
    return false
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.TaskCancelled
  }
}

/** The task's params or result exceed the configured payload limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>("@gleitzeit/PayloadTooLarge")(
  "PayloadTooLarge",
  {
    taskId: Schema.String,
    bytes: Schema.Number,
    limit: Schema.Number,
    message: Schema.String
  }
) {
  /** Not retryable. */
  get retryable(): boolean {
    return false
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.ResourceExhausted
  }
}

/** A defect inside the task's execution (a bug in a provider or a registered function), captured as data. */
export class TaskDefect extends Schema.TaggedError<TaskDefect>("@gleitzeit/TaskDefect")("TaskDefect", {
  taskId: Schema.String,
  message: Schema.String
}) {
  /** Not retryable: a bug does not fix itself. */
  get retryable(): boolean {
    return false
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.Internal
  }
}

/** Everything a task attempt can fail with. */
export const TaskFailure = Schema.Union(
  ProviderError,
  UnresolvedReference,
  InvalidParams,
  MethodNotFound,
  TaskTimeout,
  TaskCancelled,
  PayloadTooLarge,
  TaskDefect
)

/** Everything a task attempt can fail with. */
export type TaskFailure = typeof TaskFailure.Type

/** The JSON form of a TaskFailure, as journaled. */
export type TaskFailureEncoded = typeof TaskFailure.Encoded

/** Encodes a failure to JSON for the journal or the wire. */
export const encode = Schema.encodeSync(TaskFailure)

/** Decodes a journaled failure. */
export const decode = Schema.decodeUnknownSync(TaskFailure)
