/**
 * The one error type every provider fails with. Its `reason` is a closed union; each reason decides whether a
 * retry can help, so retry decisions never read a message string.
 */
import * as Schema from "effect/Schema"
import * as ErrorCode from "./ErrorCode.js"
import { Json } from "./Json.js"

/** The provider did not answer in time. */
export const Timeout = Schema.TaggedStruct("Timeout", {})
/** The provider could not be reached (connection refused, reset, DNS, no healthy instance). */
export const Unavailable = Schema.TaggedStruct("Unavailable", {})
/** The provider asked us to slow down. */
export const RateLimited = Schema.TaggedStruct("RateLimited", { retryAfterMs: Schema.optional(Schema.Number) })
/** The provider answered with a non-success HTTP status. */
export const HttpStatus = Schema.TaggedStruct("HttpStatus", {
  status: Schema.Number,
  body: Schema.optional(Json)
})
/** The request was rejected as invalid by the provider. */
export const InvalidParams = Schema.TaggedStruct("InvalidParams", {})
/** The thing asked for (model, tool, file, resource) does not exist at the provider. */
export const NotFound = Schema.TaggedStruct("NotFound", {})
/** Sandboxed code tried something the sandbox forbids. */
export const SandboxViolation = Schema.TaggedStruct("SandboxViolation", {})
/** The execution was killed for exceeding its memory limit. */
export const OutOfMemory = Schema.TaggedStruct("OutOfMemory", {})
/** The provider-side execution was cancelled. */
export const Cancelled = Schema.TaggedStruct("Cancelled", {})
/** User code or a tool ran and reported failure (an exception, a non-zero exit, an `isError` tool result). */
export const ExecutionFailed = Schema.TaggedStruct("ExecutionFailed", {
  exitCode: Schema.optional(Schema.Number),
  traceback: Schema.optional(Schema.String)
})
/** The provider answered with something we could not understand. */
export const BadResponse = Schema.TaggedStruct("BadResponse", {})
/** A request or response exceeded a size limit. */
export const TooLarge = Schema.TaggedStruct("TooLarge", { limitBytes: Schema.Number })
/** A bug or an unexpected condition inside the provider. */
export const Internal = Schema.TaggedStruct("Internal", {})

/** Why a provider call failed. */
export const Reason = Schema.Union(
  Timeout,
  Unavailable,
  RateLimited,
  HttpStatus,
  InvalidParams,
  NotFound,
  SandboxViolation,
  OutOfMemory,
  Cancelled,
  ExecutionFailed,
  BadResponse,
  TooLarge,
  Internal
)

/** Why a provider call failed. */
export type Reason = typeof Reason.Type

/** Whether a retry of the same call can succeed, decided by the reason alone. */
export const isRetryableReason = (reason: Reason): boolean => {
  switch (reason._tag) {
    case "Timeout":
    case "Unavailable":
    case "RateLimited":
    case "BadResponse":
      return true
    case "HttpStatus":
      return reason.status >= 500 || reason.status === 408 || reason.status === 429
    case "InvalidParams":
    case "NotFound":
    case "SandboxViolation":
    case "OutOfMemory":
    case "Cancelled":
    case "ExecutionFailed":
    case "TooLarge":
    case "Internal":
      return false
  }
}

/** The JSON-RPC code of a reason. */
export const codeOfReason = (reason: Reason): number => {
  switch (reason._tag) {
    case "Timeout":
      return ErrorCode.ProviderTimeout
    case "Unavailable":
      return ErrorCode.ProviderUnavailable
    case "RateLimited":
      return ErrorCode.RateLimited
    case "InvalidParams":
      return ErrorCode.InvalidParams
    case "NotFound":
      return ErrorCode.ProviderNotFound
    case "Cancelled":
      return ErrorCode.TaskCancelled
    case "OutOfMemory":
    case "TooLarge":
      return ErrorCode.ResourceExhausted
    case "ExecutionFailed":
    case "SandboxViolation":
      return ErrorCode.TaskExecution
    case "HttpStatus":
    case "BadResponse":
      return ErrorCode.ProviderFailure
    case "Internal":
      return ErrorCode.Internal
  }
}

/** A failed provider call. `retryable` may override the reason's verdict (e.g. an idempotent tool). */
export class ProviderError extends Schema.TaggedError<ProviderError>("@gleitzeit/ProviderError")("ProviderError", {
  provider: Schema.String,
  method: Schema.String,
  reason: Reason,
  message: Schema.String,
  retryableOverride: Schema.optional(Schema.Boolean),
  cause: Schema.optional(Schema.Defect)
}) {
  /** Whether a retry can help. */
  get retryable(): boolean {
    return this.retryableOverride ?? isRetryableReason(this.reason)
  }
  /** The JSON-RPC error code. */
  get code(): number {
    return codeOfReason(this.reason)
  }
}

/** Builds a ProviderError (shorthand used by providers). */
export const make = (options: {
  readonly provider: string
  readonly method: string
  readonly reason: Reason
  readonly message: string
  readonly cause?: unknown
  readonly retryable?: boolean
}): ProviderError =>
  new ProviderError({
    provider: options.provider,
    method: options.method,
    reason: options.reason,
    message: options.message,
    ...(options.retryable === undefined ? {} : { retryableOverride: options.retryable }),
    ...(options.cause === undefined ? {} : { cause: options.cause })
  })
