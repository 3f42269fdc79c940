/**
 * The HTTP API, defined once as data: its groups, endpoints, schemas, errors and security. The server (`gleitzeit
 * serve`, every `gleitzeit node`), typed clients (`HttpApiClient.make(Api.Api)`) and the OpenAPI document
 * (`/openapi.json`) all derive from this value.
 *
 * Routes live under `/v1`; `/healthz`, `/readyz` and `/metrics` at the root. Errors are problem documents
 * (`ApiError`). Keys are sent as `Authorization: Bearer …` and carry scopes: `read` (look), `submit` (start,
 * cancel and resume runs; implies `read`) and `admin` (everything, and what the configuration reserves for it).
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import * as ApiError from "./ApiError.js"
import * as ApiModel from "./ApiModel.js"
import * as Event from "./Event.js"

/** What a key may do. */
export const Scope = Schema.Literal("read", "submit", "admin")

/** What a key may do. */
export type Scope = typeof Scope.Type

/** True when holding `scopes` grants `needed` (`admin` grants everything, `submit` also grants `read`). */
export const grants = (scopes: ReadonlyArray<Scope>, needed: Scope): boolean =>
  scopes.includes("admin") || scopes.includes(needed) || (needed === "read" && scopes.includes("submit"))

/** Who is calling: the name of the key (never the key) and its scopes. */
export class Caller extends Context.Tag("@gleitzeit/api/Caller")<Caller, {
  /** The key's name; `undefined` when the server runs without keys (loopback only). */
  readonly key: string | undefined
  readonly scopes: ReadonlyArray<Scope>
}>() {}

const bearer = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(
    OpenApi.Description,
    "An API key (`gleitzeit keys create NAME --scope …` prints one), as `Authorization: Bearer <key>`."
  )
)

/** What every authenticated request may fail with. */
const accessFailure = Schema.Union(ApiError.Unauthorized, ApiError.MissingScope, ApiError.RateLimited)

/** Requires a key with the `read` scope. */
export class ReadAccess extends HttpApiMiddleware.Tag<ReadAccess>()("@gleitzeit/api/ReadAccess", {
  security: { bearer },
  provides: Caller,
  failure: accessFailure
}) {}

/** Requires a key with the `submit` scope. */
export class SubmitAccess extends HttpApiMiddleware.Tag<SubmitAccess>()("@gleitzeit/api/SubmitAccess", {
  security: { bearer },
  provides: Caller,
  failure: accessFailure
}) {}

const runPath = Schema.Struct({ runId: Schema.String })

/** Where a workflow to submit or validate comes from: a JSON request, or the workflow itself as YAML. */
const workflowPayload = Schema.Union(
  // First: a JSON request's struct has no required field, so it would also accept the YAML body's bytes.
  HttpApiSchema.withEncoding(ApiModel.SubmitYaml, { kind: "Uint8Array", contentType: "application/yaml" }),
  ApiModel.SubmitRequest
)

/** What loading a submitted workflow may fail with. */
const loadErrors = Schema.Union(
  ApiError.WorkflowParseError,
  ApiError.WorkflowValidationError,
  ApiError.WorkflowNotRegistered,
  ApiError.ProvidersNotAllowed
)

/** Runs: submit, list, inspect, follow, wait for, cancel and resume. */
export class Runs extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.post("submit", "/runs")
      .setPayload(workflowPayload)
      .setHeaders(Schema.Struct({
        "idempotency-key": Schema.optional(
          Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)).annotations({
            description: "repeating a submission with the same key returns the run the first one created"
          })
        )
      }))
      .addSuccess(ApiModel.Submitted, { status: 201 })
      .addError(loadErrors)
      .addError(ApiError.IdempotencyKeyReused)
      .middleware(SubmitAccess)
      .annotate(OpenApi.Summary, "Start a run")
      .annotate(
        OpenApi.Description,
        "Starts a run of a workflow given as YAML (`Content-Type: application/yaml`) or JSON (`{\"workflow\": …}`), " +
          "or of a registered workflow (`{\"name\": …, \"inputs\": …}`). The run is journaled before the answer."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/runs")
      .setUrlParams(ApiModel.RunListParams)
      .addSuccess(ApiModel.RunPage)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "List runs, newest first")
  )
  .add(
    HttpApiEndpoint.get("get", "/runs/:runId")
      .setPath(runPath)
      .addSuccess(ApiModel.RunView)
      .addError(ApiError.RunNotFound)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "A run with its tasks, attempts, outputs and errors")
  )
  .add(
    HttpApiEndpoint.get("events", "/runs/:runId/events")
      .setPath(runPath)
      .setUrlParams(ApiModel.EventParams)
      .setHeaders(Schema.Struct({
        "last-event-id": Schema.optional(Schema.String.annotations({
          description: "the `id` of the last event received: the stream resumes after it"
        }))
      }))
      .addSuccess(
        HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
          description: "Server-Sent Events: `id` is the event's sequence number in the run's journal, `event` its " +
            "`_tag`, `data` the event as JSON (schema `Event`); streamed tokens arrive as `TaskOutput` events. The " +
            "stream ends after the run's final event."
        })
      )
      .addError(ApiError.RunNotFound)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "Follow a run's events (Server-Sent Events)")
  )
  .add(
    HttpApiEndpoint.get("result", "/runs/:runId/result")
      .setPath(runPath)
      .setUrlParams(ApiModel.WaitParams)
      .addSuccess(ApiModel.RunResult)
      .addError(ApiError.RunNotFound)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "Wait for a run's result (long poll)")
      .annotate(
        OpenApi.Description,
        "Answers when the run has ended, or after `timeout` seconds with `done: false` (ask again)."
      )
  )
  .add(
    HttpApiEndpoint.post("cancel", "/runs/:runId/cancel")
      .setPath(runPath)
      .setPayload(Schema.Union(Schema.Null, ApiModel.CancelRequest))
      .addSuccess(ApiModel.RunStatusView)
      .addError(ApiError.RunNotFound)
      .addError(ApiError.InvalidRunState)
      .middleware(SubmitAccess)
      .annotate(OpenApi.Summary, "Cancel a run (running attempts are interrupted)")
  )
  .add(
    HttpApiEndpoint.post("resume", "/runs/:runId/resume")
      .setPath(runPath)
      .addSuccess(ApiModel.RunStatusView, { status: 202 })
      .addError(ApiError.RunNotFound)
      .addError(ApiError.InvalidRunState)
      .middleware(SubmitAccess)
      .annotate(OpenApi.Summary, "Resume an unfinished run (completed tasks are not run again)")
  )
  .prefix("/v1")
  .annotate(OpenApi.Description, "Runs of workflows")
{}

/** Workflows: the registered ones, and validation. */
export class Workflows extends HttpApiGroup.make("workflows")
  .add(
    HttpApiEndpoint.get("list", "/workflows")
      .addSuccess(ApiModel.WorkflowList)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "The registered workflows and their inputs")
  )
  .add(
    HttpApiEndpoint.get("get", "/workflows/:name")
      .setPath(Schema.Struct({ name: Schema.String }))
      .addSuccess(ApiModel.RegisteredWorkflow)
      .addError(ApiError.WorkflowNotRegistered)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "A registered workflow")
  )
  .add(
    HttpApiEndpoint.post("validate", "/workflows/validate")
      .setPayload(workflowPayload)
      .addSuccess(ApiModel.ValidationReport)
      .addError(loadErrors)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "Check a workflow: every problem with its line and column")
  )
  .prefix("/v1")
  .annotate(OpenApi.Description, "Registered workflows and validation")
{}

/** Providers and their health. */
export class Providers extends HttpApiGroup.make("providers")
  .add(
    HttpApiEndpoint.get("list", "/providers")
      .addSuccess(ApiModel.ProviderList)
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "Providers, their methods and health")
  )
  .prefix("/v1")
  .annotate(OpenApi.Description, "The providers of the answering process")
{}

/** Liveness, readiness and metrics, at the root. */
export class System extends HttpApiGroup.make("system", { topLevel: true })
  .add(
    HttpApiEndpoint.get("healthz", "/healthz")
      .addSuccess(ApiModel.Health)
      .annotate(OpenApi.Summary, "The server is alive")
  )
  .add(
    HttpApiEndpoint.get("readyz", "/readyz")
      .addSuccess(ApiModel.Readiness)
      .annotate(OpenApi.Summary, "The server can serve requests (its journal answers)")
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(
        HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }).annotations({
          description: "Prometheus text exposition format"
        })
      )
      .middleware(ReadAccess)
      .annotate(OpenApi.Summary, "Metrics in the Prometheus text format")
  )
  .annotate(OpenApi.Description, "Health and metrics")
{}

/**
 * Makes the document say what the server does: every error response is `application/problem+json` (the server
 * answers the library's own request-decoding failures with a `BadRequest` problem, so that schema is dropped).
 */
const problemDocuments = (spec: Record<string, any>): Record<string, any> => {
  const decodeError = "#/components/schemas/HttpApiDecodeError"
  for (const item of Object.values<Record<string, any>>(spec.paths ?? {})) {
    for (const operation of Object.values<Record<string, any>>(item)) {
      for (const [status, response] of Object.entries<Record<string, any>>(operation.responses ?? {})) {
        if (Number(status) < 400 || response.content === undefined) continue
        if (status === "400") response.description = "The request is malformed"
        const media = Object.values<Record<string, any>>(response.content)[0]!
        const schema = media.schema as Record<string, any>
        if (Array.isArray(schema.anyOf)) {
          const members = schema.anyOf.filter((member: Record<string, any>) => member.$ref !== decodeError)
          media.schema = members.length === 1 ? members[0] : { ...schema, anyOf: members }
        }
        response.content = { [ApiError.contentType]: media }
      }
    }
  }
  delete spec.components?.schemas?.HttpApiDecodeError
  // Schemas only that error used go too (the event schema stays: the event stream's `data` follows it).
  for (const name of ["Issue", "PropertyKey"]) {
    if (!JSON.stringify(spec).includes(`"#/components/schemas/${name}"`)) delete spec.components?.schemas?.[name]
  }
  // Any JSON value (written out recursively, generated clients cannot type it).
  if (spec.components?.schemas?.Json !== undefined) spec.components.schemas.Json = { description: "any JSON value" }
  // The API is served from the document's own origin.
  spec.servers = [{ url: "/", description: "this server" }]
  return spec
}

/** The whole API. */
export class Api extends HttpApi.make("gleitzeit")
  .add(Runs)
  .add(Workflows)
  .add(Providers)
  .add(System)
  .addError(ApiError.BadRequest)
  .addError(ApiError.NotFound)
  .addError(ApiError.PayloadTooLarge)
  .addError(ApiError.Unavailable)
  .addError(ApiError.Internal)
  .annotate(HttpApi.AdditionalSchemas, [Event.Event.annotations({ identifier: "Event" })])
  .annotateContext(OpenApi.annotations({
    title: "Gleitzeit",
    version: "1",
    description: "Submit, follow and control durable workflow runs. Errors are RFC 9457 problem documents.",
    transform: problemDocuments
  }))
{}
