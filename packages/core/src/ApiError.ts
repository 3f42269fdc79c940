/**
 * The errors of the HTTP API, each an RFC 9457 problem document (`application/problem+json`): `type`, `title`,
 * `status`, `detail`, plus the typed error's `_tag`, its JSON-RPC `code` and its `retryable` verdict, and the
 * fields that say exactly what was wrong (every validation problem with its line and column).
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import * as ErrorCode from "./ErrorCode.js"
import * as WorkflowError from "./WorkflowError.js"

/** A problem found in a workflow: its path and, when known, its line and column. */
export const Issue = WorkflowError.Issue.annotations({ identifier: "WorkflowIssue" })

/** The media type of every error body. */
export const contentType = "application/problem+json"

/** The members every problem document has. */
const problem = {
  /** A URI naming the kind of problem. */
  type: Schema.String,
  /** A short summary of the kind of problem. */
  title: Schema.String,
  /** The HTTP status. */
  status: Schema.Int,
  /** What happened, for a person. */
  detail: Schema.String,
  /** The JSON-RPC error code (the same as in the journal and the CLI). */
  code: Schema.Int,
  /** True when sending the same request again later may succeed. */
  retryable: Schema.Boolean
}

const annotations = <A>(status: number, description: string): Schema.Annotations.Schema<A> => ({
  ...HttpApiSchema.annotations<A>({ status, description }),
  [HttpApiSchema.AnnotationEncoding]: { kind: "Json", contentType }
})

/** The members of a problem of kind `tag`, besides `detail` and the kind's own fields. */
const head = (tag: string, status: number, code: number, retryable: boolean, title: string) => ({
  type: `urn:gleitzeit:problem:${tag}`,
  title,
  status,
  code,
  retryable
})

/** One reason a request was malformed: where, and what. */
export const RequestIssue = Schema.Struct({
  path: Schema.String,
  message: Schema.String
}).annotations({ identifier: "RequestIssue" })

/** One reason a request was malformed. */
export type RequestIssue = typeof RequestIssue.Type

/** The request is malformed: a body that is not JSON, a param of the wrong type, a missing field. */
export class BadRequest extends Schema.TaggedError<BadRequest>("BadRequest")(
  "BadRequest",
  { ...problem, issues: Schema.optional(Schema.Array(RequestIssue)) },
  annotations(400, "The request is malformed")
) {}

/** Builds a `BadRequest` problem. */
export const badRequest = (detail: string, issues?: ReadonlyArray<RequestIssue>): BadRequest => {
  return new BadRequest({
    ...head("BadRequest", 400, ErrorCode.InvalidRequest, false, "Bad request"),
    detail,
    ...(issues === undefined ? {} : { issues })
  })
}

/** The workflow text is not valid YAML or JSON. */
export class WorkflowParseError extends Schema.TaggedError<WorkflowParseError>("WorkflowParseError")(
  "WorkflowParseError",
  { ...problem, line: Schema.Int, column: Schema.Int },
  annotations(400, "The workflow is not valid YAML or JSON")
) {}

/** Builds a `WorkflowParseError` problem. */
export const workflowParseError = (detail: string, line: number, column: number): WorkflowParseError => {
  return new WorkflowParseError({
    ...head("WorkflowParseError", 400, ErrorCode.ParseError, false, "The workflow does not parse"),
    detail,
    line,
    column
  })
}

/** The workflow (or its inputs) is not valid: every problem, each with its path and, when known, line and column. */
export class WorkflowValidationError extends Schema.TaggedError<WorkflowValidationError>("WorkflowValidationError")(
  "WorkflowValidationError",
  { ...problem, issues: Schema.Array(Issue) },
  annotations(422, "The workflow is not valid")
) {}

/** Builds a `WorkflowValidationError` problem. */
export const workflowValidationError = (
  detail: string,
  code: number,
  issues: ReadonlyArray<WorkflowError.Issue>
): WorkflowValidationError =>
  new WorkflowValidationError({
    ...head("WorkflowValidationError", 422, code, false, "The workflow is not valid"),
    detail,
    issues
  })

/** The same `Idempotency-Key` was sent before with a different request. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>("IdempotencyKeyReused")(
  "IdempotencyKeyReused",
  { ...problem, runId: Schema.String },
  annotations(422, "The idempotency key was used for a different request")
) {}

/** Builds a `IdempotencyKeyReused` problem. */
export const idempotencyKeyReused = (runId: string): IdempotencyKeyReused => {
  return new IdempotencyKeyReused({
    ...head("IdempotencyKeyReused", 422, ErrorCode.InvalidRequest, false, "Idempotency key reused"),
    detail: `this Idempotency-Key already submitted run '${runId}' with a different workflow or inputs`,
    runId
  })
}

/** No key, or a key the server does not know. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("Unauthorized")(
  "Unauthorized",
  problem,
  annotations(401, "No valid API key was given")
) {}

/** Builds a `Unauthorized` problem. */
export const unauthorized = (detail: string): Unauthorized => {
  return new Unauthorized({ ...head("Unauthorized", 401, ErrorCode.Unauthenticated, false, "Unauthorized"), detail })
}

/** The key is valid but lacks the scope the operation needs. */
export class MissingScope extends Schema.TaggedError<MissingScope>("MissingScope")(
  "MissingScope",
  { ...problem, scope: Schema.String, key: Schema.String },
  annotations(403, "The key lacks the scope the operation needs")
) {}

/** Builds a `MissingScope` problem. */
export const missingScope = (key: string, scope: string): MissingScope => {
  return new MissingScope({
    ...head("MissingScope", 403, ErrorCode.PermissionDenied, false, "Forbidden"),
    detail: `key '${key}' does not have the '${scope}' scope this operation needs`,
    scope,
    key
  })
}

/**
 * The workflow's own `providers:` block asks for something the server does not allow over the API for this key
 * (starting a process, adding an endpoint): every refused entry, with its path and position.
 */
export class ProvidersNotAllowed extends Schema.TaggedError<ProvidersNotAllowed>("ProvidersNotAllowed")(
  "ProvidersNotAllowed",
  { ...problem, block: Schema.String, issues: Schema.Array(Issue) },
  annotations(403, "The workflow's providers block is not allowed")
) {}

/** Builds a `ProvidersNotAllowed` problem. */
export const providersNotAllowed = (issues: ReadonlyArray<WorkflowError.Issue>): ProvidersNotAllowed => {
  const first = issues[0]?.render() ?? "providers"
  return new ProvidersNotAllowed({
    ...head("ProvidersNotAllowed", 403, ErrorCode.PermissionDenied, false, "Forbidden"),
    detail: `the workflow's 'providers' block is not allowed over the API for this key: ${first}${
      issues.length > 1 ? ` (and ${issues.length - 1} more)` : ""
    }`,
    block: "providers",
    issues
  })
}

/** No run with this id. */
export class RunNotFound extends Schema.TaggedError<RunNotFound>("RunNotFound")(
  "RunNotFound",
  { ...problem, runId: Schema.String },
  annotations(404, "No run with this id")
) {}

/** Builds a `RunNotFound` problem. */
export const runNotFound = (runId: string): RunNotFound => {
  return new RunNotFound({
    ...head("RunNotFound", 404, ErrorCode.WorkflowNotFound, false, "Run not found"),
    detail: `no run '${runId}'`,
    runId
  })
}

/** No registered workflow with this name. */
export class WorkflowNotRegistered extends Schema.TaggedError<WorkflowNotRegistered>("WorkflowNotRegistered")(
  "WorkflowNotRegistered",
  { ...problem, name: Schema.String },
  annotations(404, "No registered workflow with this name")
) {}

/** Builds a `WorkflowNotRegistered` problem. */
export const workflowNotRegistered = (name: string, known: ReadonlyArray<string>): WorkflowNotRegistered => {
  const list = known.length === 0
    ? "none is registered (start the server with --workflows DIR)"
    : `known: ${known.join(", ")}`
  return new WorkflowNotRegistered({
    ...head("WorkflowNotRegistered", 404, ErrorCode.WorkflowNotFound, false, "Workflow not registered"),
    detail: `no registered workflow '${name}'; ${list}`,
    name
  })
}

/** No route at this path (or not with this method). */
export class NotFound extends Schema.TaggedError<NotFound>("NotFound")(
  "NotFound",
  problem,
  annotations(404, "No such route")
) {}

/** Builds a `NotFound` problem. */
export const notFound = (method: string, path: string): NotFound => {
  return new NotFound({
    ...head("NotFound", 404, ErrorCode.MethodNotFound, false, "Not found"),
    detail: `no route ${method} ${path} (the API is described at /openapi.json)`
  })
}

/** The operation does not fit the run's status (cancelling a run that ended, resuming a running one). */
export class InvalidRunState extends Schema.TaggedError<InvalidRunState>("InvalidRunState")(
  "InvalidRunState",
  { ...problem, runId: Schema.String, runStatus: Schema.String },
  annotations(409, "The operation does not fit the run's status")
) {}

/** Builds a `InvalidRunState` problem. */
export const invalidRunState = (runId: string, runStatus: string, detail: string): InvalidRunState => {
  return new InvalidRunState({
    ...head("InvalidRunState", 409, ErrorCode.InvalidState, false, "Conflict with the run's state"),
    detail,
    runId,
    runStatus
  })
}

/** The request body is larger than the server accepts. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>("PayloadTooLarge")(
  "PayloadTooLarge",
  { ...problem, limitBytes: Schema.Int },
  annotations(413, "The request body is too large")
) {}

/** Builds a `PayloadTooLarge` problem. */
export const payloadTooLarge = (limitBytes: number): PayloadTooLarge => {
  return new PayloadTooLarge({
    ...head("PayloadTooLarge", 413, ErrorCode.ResourceExhausted, false, "Payload too large"),
    detail: `the request body is larger than the ${limitBytes} bytes this server accepts`,
    limitBytes
  })
}

/** The key sent more requests than its rate limit allows; `Retry-After` says when to try again. */
export class RateLimited extends Schema.TaggedError<RateLimited>("RateLimited")(
  "RateLimited",
  { ...problem, retryAfterSeconds: Schema.Int },
  annotations(429, "Too many requests for this key")
) {}

/** Builds a `RateLimited` problem. */
export const rateLimited = (key: string, retryAfterSeconds: number): RateLimited => {
  return new RateLimited({
    ...head("RateLimited", 429, ErrorCode.RateLimited, true, "Too many requests"),
    detail: `key '${key}' is over its rate limit; try again in ${retryAfterSeconds} s`,
    retryAfterSeconds
  })
}

/** The server cannot serve the request now (its journal is unreachable, it is stopping, the request took too long). */
export class Unavailable extends Schema.TaggedError<Unavailable>("Unavailable")(
  "Unavailable",
  { ...problem, retryAfterSeconds: Schema.optional(Schema.Int) },
  annotations(503, "The server cannot serve the request now")
) {}

/** Builds a `Unavailable` problem. */
export const unavailable = (
  detail: string,
  code: number = ErrorCode.ShuttingDown,
  retryAfterSeconds?: number
): Unavailable => {
  return new Unavailable({
    ...head("Unavailable", 503, code, true, "Service unavailable"),
    detail,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
  })
}

/** An unexpected failure of the server; its details are in the server's log, not in the response. */
export class Internal extends Schema.TaggedError<Internal>("Internal")(
  "Internal",
  problem,
  annotations(500, "An unexpected failure of the server")
) {}

/** Builds a `Internal` problem. */
export const internal = (detail: string): Internal => {
  return new Internal({ ...head("Internal", 500, ErrorCode.Internal, false, "Internal server error"), detail })
}

/** Every problem the API answers with. */
export type ApiError =
  | BadRequest
  | WorkflowParseError
  | WorkflowValidationError
  | IdempotencyKeyReused
  | Unauthorized
  | MissingScope
  | ProvidersNotAllowed
  | RunNotFound
  | WorkflowNotRegistered
  | NotFound
  | InvalidRunState
  | PayloadTooLarge
  | RateLimited
  | Unavailable
  | Internal

/** Every problem the API answers with. */
export const ApiError = Schema.Union(
  BadRequest,
  WorkflowParseError,
  WorkflowValidationError,
  IdempotencyKeyReused,
  Unauthorized,
  MissingScope,
  ProvidersNotAllowed,
  RunNotFound,
  WorkflowNotRegistered,
  NotFound,
  InvalidRunState,
  PayloadTooLarge,
  RateLimited,
  Unavailable,
  Internal
)
