/**
 * The HTTP API server: the handlers of every endpoint of `Api.Api`, served over Node's HTTP server with the
 * OpenAPI document at `/openapi.json` and its documentation at `/docs` (Swagger UI, served from this process:
 * no CDN). The same layer serves an embedded engine (`gleitzeit serve`) and a cluster node (`gleitzeit node`).
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import type * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Api, ApiError, ApiModel, ErrorCode, type Event, Run, Workflow, type WorkflowError } from "@gleitzeit/core"
import { PathPolicy, ProviderRegistry } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import { ApiConfig, check, type UnsafeListen } from "./ApiConfig.js"
import { Engine, type Outcome } from "./Engine.js"
import { EngineConfig } from "./EngineConfig.js"
import type { EventBus } from "./EventBus.js"
import * as Access from "./internal/api/access.js"
import * as Events from "./internal/api/events.js"
import * as Problems from "./internal/api/problems.js"
import * as Submission from "./internal/api/submission.js"
import * as Views from "./internal/api/views.js"
import * as Runs from "./internal/runs.js"
import { Journal } from "./Journal.js"
import * as Metrics from "./Metrics.js"
import { type Entry, WorkflowRegistry } from "./WorkflowRegistry.js"

const runNotFound = (error: WorkflowError.RunNotFound) => ApiError.runNotFound(error.runId)
const invalidState = (error: WorkflowError.InvalidRunState) =>
  ApiError.invalidRunState(error.runId, error.status, error.message)

/** An instant given as RFC 3339 text, in epoch ms. */
const parseTime = (name: string, text: string | undefined) =>
  Effect.suspend(() => {
    if (text === undefined) return Effect.succeed(undefined)
    const ms = Date.parse(text)
    return Number.isNaN(ms)
      ? Effect.fail(ApiError.badRequest(`'${name}' is not an RFC 3339 time: '${text}'`))
      : Effect.succeed(ms)
  })

/** The run id an `Idempotency-Key` stands for (per key name, so two callers' keys never collide). */
const idempotentRunId = (caller: string | undefined, key: string) =>
  `k${createHash("sha256").update(`${caller ?? ""}\u0000${key}`, "utf8").digest("hex").slice(0, 24)}`

const sameWorkflow = (a: Workflow.Workflow, b: Workflow.Workflow) =>
  JSON.stringify(Workflow.encode(a)) === JSON.stringify(Workflow.encode(b))

/** What loading a submission needs from the server. */
const submissionContext = Effect.gen(function*() {
  const registry = yield* WorkflowRegistry
  const providers = yield* ProviderRegistry.ProviderRegistry
  const settings = yield* ApiConfig
  const paths = yield* PathPolicy.PathPolicy
  return { registry, catalog: ProviderRegistry.catalogOf(providers), settings, paths }
})

/** The handlers of the `runs` group. */
export const layerRuns = HttpApiBuilder.group(Api.Api, "runs", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine
    const journal = yield* Journal
    const settings = yield* ApiConfig
    // Idempotent submissions check and create their run one at a time (a run id is journaled once).
    const idempotency = yield* Effect.makeSemaphore(1)

    const replay = (runId: string, workflow: Workflow.Workflow) =>
      Effect.gen(function*() {
        const record = yield* journal.run(runId)
        if (Option.isNone(record)) return Option.none<ApiModel.Submitted>()
        const stored = yield* journal.workflow(runId)
        if (Option.isSome(stored) && !sameWorkflow(stored.value, workflow)) {
          return yield* ApiError.idempotencyKeyReused(runId)
        }
        const run = record.value
        return Option.some(
          new ApiModel.Submitted({
            runId,
            name: run.name,
            status: run.status,
            replayed: true,
            ...(run.submittedBy === undefined ? {} : { submittedBy: run.submittedBy })
          }, true)
        )
      })

    const loadRun = (runId: string) =>
      Effect.flatMap(journal.run(runId), (record) =>
        Option.match(record, {
          onNone: () => Effect.fail(ApiError.runNotFound(runId)),
          onSome: Effect.succeed
        }))

    return handlers
      .handle("submit", ({ headers, payload }) =>
        Effect.gen(function*() {
          const caller = yield* Api.Caller
          const { workflow } = yield* Submission.load(payload, yield* submissionContext)
          const submittedBy = caller.key
          const fresh = (runId?: string) =>
            Effect.map(
              engine.submit(workflow, {
                ...(runId === undefined ? {} : { runId }),
                ...(submittedBy === undefined ? {} : { submittedBy })
              }),
              (id) =>
                new ApiModel.Submitted({
                  runId: id,
                  name: workflow.name,
                  status: "pending",
                  replayed: false,
                  ...(submittedBy === undefined ? {} : { submittedBy })
                }, true)
            )
          const key = headers["idempotency-key"]
          if (key === undefined) return yield* fresh()
          const runId = idempotentRunId(submittedBy, key)
          return yield* idempotency.withPermits(1)(
            Effect.flatMap(
              replay(runId, workflow),
              Option.match({ onNone: () => fresh(runId), onSome: Effect.succeed })
            )
          )
        }))
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const since = yield* parseTime("since", urlParams.since)
          const until = yield* parseTime("until", urlParams.until)
          const before = urlParams.cursor === undefined ? undefined : Views.decodeCursor(urlParams.cursor)
          if (urlParams.cursor !== undefined && before === undefined) {
            return yield* ApiError.badRequest("'cursor' is not a cursor this API returned")
          }
          const limit = urlParams.limit ?? 50
          const runs = yield* journal.runs({
            status: urlParams.status,
            name: urlParams.workflow,
            since,
            until,
            before,
            limit: limit + 1
          })
          const page = runs.slice(0, limit)
          return new ApiModel.RunPage({
            runs: page.map(Views.summary),
            ...(runs.length > limit ? { nextCursor: Views.encodeCursor(page[page.length - 1]!) } : {})
          }, true)
        }))
      .handle("get", ({ path }) =>
        Effect.gen(function*() {
          const record = yield* loadRun(path.runId)
          const [workflow, tasks, attempts, lastSeq] = yield* Effect.all([
            journal.workflow(path.runId),
            journal.tasks(path.runId),
            journal.attempts(path.runId),
            journal.lastSeq(path.runId)
          ], { concurrency: "unbounded" })
          let cancelledBy: string | undefined
          if (record.status === "cancelled") {
            const final = yield* journal.events(path.runId, lastSeq - 1)
            const event = final.find((e): e is Extract<Event.Event, { _tag: "RunCancelled" }> =>
              e._tag === "RunCancelled"
            )
            cancelledBy = event?.by
          }
          return Views.run(record, Option.getOrThrow(workflow), tasks, attempts, lastSeq, cancelledBy)
        }))
      .handle("events", ({ headers, path, urlParams }) =>
        Effect.gen(function*() {
          yield* loadRun(path.runId)
          const afterSeq = Math.max(urlParams.after ?? 0, Events.lastEventId(headers["last-event-id"]) ?? 0)
          return yield* Events.response(path.runId, {
            afterSeq,
            follow: urlParams.follow !== "false",
            heartbeatSeconds: settings.heartbeatSeconds
          })
        }))
      .handle("result", ({ path, urlParams }) =>
        Effect.gen(function*() {
          const seconds = Math.min(urlParams.timeout ?? 30, settings.maxWaitSeconds)
          // The engine answers at once for a run that ended (it reads the journal) or executes here (no read at all);
          // a run it does not know is a 404.
          const ended: Option.Option<Outcome> = yield* engine.wait(path.runId).pipe(
            Effect.mapError(runNotFound),
            Effect.timeout(`${seconds} seconds`),
            Effect.catchTag("TimeoutException", () => Effect.succeed(undefined)),
            Effect.map(Option.fromNullable)
          )
          if (Option.isNone(ended)) {
            // The time is up (or none was given): where the run stands now, its outcome if it has just ended.
            const now = yield* loadRun(path.runId)
            if (!Run.isFinalRun(now.status)) {
              return new ApiModel.RunResult({ runId: now.id, status: now.status, done: false }, true)
            }
          }
          const outcome = Option.isSome(ended) ? ended.value : Runs.toOutcome(yield* loadRun(path.runId))
          return new ApiModel.RunResult({
            runId: outcome.runId,
            status: outcome.status,
            done: true,
            ...(outcome.outputs === undefined ? {} : { outputs: outcome.outputs }),
            ...(outcome.error === undefined ? {} : { error: outcome.error })
          }, true)
        }))
      .handle("cancel", ({ path, payload }) =>
        Effect.gen(function*() {
          const caller = yield* Api.Caller
          const reason = payload?.reason ??
            (caller.key === undefined ? "cancelled through the API" : `cancelled through the API by '${caller.key}'`)
          const outcome = yield* engine.cancel(path.runId, reason, caller.key).pipe(
            Effect.catchTags({
              RunNotFound: (e) => Effect.fail(runNotFound(e)),
              InvalidRunState: (e) => Effect.fail(invalidState(e))
            })
          )
          return new ApiModel.RunStatusView({
            runId: outcome.runId,
            status: outcome.status,
            ...(outcome.error === undefined ? {} : { error: outcome.error })
          }, true)
        }))
      .handle("resume", ({ path }) =>
        Effect.gen(function*() {
          yield* engine.resume(path.runId).pipe(
            Effect.catchTags({
              RunNotFound: (e) => Effect.fail(runNotFound(e)),
              InvalidRunState: (e) => Effect.fail(invalidState(e))
            })
          )
          const record = yield* loadRun(path.runId)
          return new ApiModel.RunStatusView({ runId: record.id, status: record.status }, true)
        }))
  }))

/** The JSON Schema of the inputs a workflow accepts (none until workflows declare inputs). */
const inputSchema = (_workflow: Workflow.Workflow | undefined): Record<string, unknown> => ({
  type: "object",
  properties: {},
  additionalProperties: false
})

const registered = (entry: Entry) => {
  const workflow = entry.loaded._tag === "Valid" ? entry.loaded.workflow : undefined
  return new ApiModel.RegisteredWorkflow({
    name: entry.name,
    file: entry.file,
    ...(workflow?.description === undefined ? {} : { description: workflow.description }),
    inputs: inputSchema(workflow),
    taskCount: workflow?.tasks.length ?? 0,
    loadedAt: Views.time(entry.loadedAt),
    ...(entry.loaded._tag === "Invalid" ? { issues: entry.loaded.issues } : {})
  }, true)
}

/** The handlers of the `workflows` group. */
export const layerWorkflows = HttpApiBuilder.group(Api.Api, "workflows", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* WorkflowRegistry
    return handlers
      .handle("list", () =>
        Effect.map(registry.list, (entries) =>
          new ApiModel.WorkflowList({ workflows: entries.map(registered) }, true)))
      .handle("get", ({ path }) =>
        Effect.flatMap(registry.get(path.name), (entry) =>
          Option.match(entry, {
            onNone: () =>
              Effect.flatMap(registry.list, (all) =>
                Effect.fail(ApiError.workflowNotRegistered(
                  path.name,
                  all.map((e) =>
                    e.name
                  )
                ))),
            onSome: (e) => Effect.succeed(registered(e))
          })))
      .handle("validate", ({ payload }) =>
        Effect.gen(function*() {
          const { warnings, workflow } = yield* Submission.load(payload, yield* submissionContext)
          return new ApiModel.ValidationReport({
            valid: true,
            name: workflow.name,
            tasks: workflow.tasks.map((t) =>
              new ApiModel.PlannedTask({ id: t.id, name: t.name, method: t.method, dependencies: t.dependencies })
            ),
            warnings
          }, true)
        }))
  }))

/** The handlers of the `providers` group. */
export const layerProviders = HttpApiBuilder.group(Api.Api, "providers", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* ProviderRegistry.ProviderRegistry
    const config = yield* EngineConfig
    return handlers.handle("list", () =>
      Effect.map(registry.health, (health) =>
        new ApiModel.ProviderList({
          node: config.node,
          providers: registry.providers().map((p) => {
            const h = health.find((x) => x.id === p.id)?.health ?? { status: "unhealthy" as const, detail: "no answer" }
            return new ApiModel.ProviderView({
              id: p.id,
              protocol: p.spec.id,
              health: h.status,
              ...(h.detail === undefined ? {} : { detail: h.detail }),
              methods: p.spec.methods.map((m) =>
                new ApiModel.ProviderMethod({ name: m.name, aliases: m.aliases ?? [], description: m.description })
              )
            })
          })
        }, true)))
  }))

/** The handlers of the `system` group. */
export const layerSystem = HttpApiBuilder.group(Api.Api, "system", (handlers) =>
  Effect.gen(function*() {
    const journal = yield* Journal
    const context = yield* Effect.context<Journal>()
    return handlers
      .handle("healthz", () => Effect.succeed(new ApiModel.Health({ status: "ok" }, true)))
      .handle("readyz", () =>
        journal.lastSeq("").pipe(
          Effect.timeoutFail({
            duration: "2 seconds",
            onTimeout: () => ApiError.unavailable("the journal does not answer", ErrorCode.Persistence, 5)
          }),
          Effect.catchAllDefect(() =>
            Effect.fail(ApiError.unavailable("the journal is unreachable", ErrorCode.Persistence, 5))
          ),
          Effect.as(new ApiModel.Readiness({ status: "ready", checks: { journal: "ok" } }, true))
        ))
      .handle("metrics", () => Effect.provide(Metrics.prometheus, context))
  }))

/** Every handler, with the access checks. */
const layerHandlers = Layer.mergeAll(layerRuns, layerWorkflows, layerProviders, layerSystem).pipe(
  Layer.provide(Access.layer)
)

/**
 * The API server, listening where `ApiConfig` says (refusing anything but loopback without a key). Exposes the
 * `HttpServer` (whose address tells the port when 0 was asked for).
 */
export const layer: Layer.Layer<
  HttpServer.HttpServer,
  UnsafeListen | ServeError,
  | Engine
  | Journal
  | EventBus
  | ProviderRegistry.ProviderRegistry
  | PathPolicy.PathPolicy
  | WorkflowRegistry
  | ApiConfig
  | EngineConfig
> = Layer.unwrapEffect(Effect.gen(function*() {
  const settings = yield* Effect.flatMap(ApiConfig, check)
  const middleware = HttpApiBuilder.middleware((app) => {
    const problems = Problems.middleware(settings)(app)
    return settings.corsOrigins.length === 0
      ? problems
      : HttpMiddleware.cors({ allowedOrigins: settings.corsOrigins, maxAge: 600 })(problems)
  })
  const server = NodeHttpServer.layer(
    // Receiving a request (headers within 10 s, the whole of it within 60 s) is bounded by Node itself, so a slow
    // client cannot hold a connection; handling it is bounded by `requestTimeoutMs` (the problems middleware).
    () => createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }),
    { host: settings.host, port: settings.port }
  )
  return HttpApiBuilder.serve().pipe(
    Layer.provide(Layer.mergeAll(
      HttpApiSwagger.layer({ path: "/docs" }),
      HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" }),
      middleware
    )),
    Layer.provide(HttpApiBuilder.api(Api.Api).pipe(Layer.provide(layerHandlers))),
    Layer.provideMerge(server)
  )
}))
