/**
 * The client of a local runtime: the embedded engine on a SQLite journal, or a client-only member of the cluster
 * whose PostgreSQL database the configuration names. Each part is built on first use and kept for the invocation:
 * `validate` connects the providers but opens no journal, `status` opens the journal but connects no provider.
 */
import { ErrorCode, type Workflow, WorkflowError, WorkflowLoader } from "@gleitzeit/core"
import { OllamaClient, PathPolicy, ProviderRegistry, WorkflowProviders } from "@gleitzeit/providers"
import { Cluster, Embedded, Engine, EventBus, Journal, RunLog, SqlJournal } from "@gleitzeit/runtime"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as CliConfig from "./CliConfig.js"
import { Client, type ProvidersView, Unavailable, type Validated } from "./Client.js"
import * as Runtime from "./Runtime.js"
import * as WorkflowFile from "./WorkflowFile.js"

/** What the commands using this client need of it. */
export interface Options {
  /**
   * Whether it executes tasks or validates workflows (`run`, `validate`, `resume`, `providers`): then the configured
   * providers are connected. Without it only the built-in ones are there (`status`, `list`, `logs`, `cancel`).
   */
  readonly providers: boolean
}

/** The methods a workflow may name: every built-in protocol's, plus what the registry discovered (MCP tools). */
const catalogOf = ProviderRegistry.catalogOf

/** Whether a workflow document names an `llm/*` method (in its tasks or its batch template). */
const usesLlm = (document: Option.Option<WorkflowFile.Document>): boolean =>
  Option.match(document, {
    onNone: () => false,
    onSome: (d) => {
      const value = d.parsed.value as { readonly tasks?: unknown; readonly template?: unknown } | null
      const entries = [...(Array.isArray(value?.tasks) ? value.tasks : []), value?.template]
      return entries.some((entry) => {
        const { method, protocol } = (entry ?? {}) as { readonly method?: unknown; readonly protocol?: unknown }
        return (typeof method === "string" && method.startsWith("llm/")) || protocol === "llm/v1"
      })
    }
  })

/** Whether an Ollama server answers at `url` (its model list, within 2 s). */
const ollamaAnswers = (url: string) =>
  Effect.scoped(Effect.flatMap(OllamaClient.make({ url, connections: 1 }), (client) => client.models)).pipe(
    Effect.timeout("2 seconds"),
    Effect.isSuccess
  )

/** The configuration section to add when no LLM endpoint is reachable. */
export const llmHint = (url: string): string =>
  `add an endpoint to gleitzeit.yaml, e.g.\n  llm:\n    endpoints:\n      - { name: ollama, type: ollama, url: ${url} }`

const issueOf = (
  document: WorkflowFile.Document,
  finding: { readonly path: ReadonlyArray<string | number>; readonly message: string },
  code: number = ErrorCode.WorkflowValidation
) => {
  const pos = document.parsed.locate(finding.path)
  return new WorkflowError.Issue({
    path: finding.path.reduce<string>(
      (out, seg) => typeof seg === "number" ? `${out}[${seg}]` : out === "" ? seg : `${out}.${seg}`,
      ""
    ),
    message: finding.message,
    code,
    ...(pos === undefined ? {} : { line: pos.line, column: pos.column })
  })
}

/** Hides a URL's password: `postgres://user:***@host/db`. */
const redactUrl = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, "$1:***@")

/** The one line saying that the journal's database (or the cluster's Redis) cannot be reached, and why. */
const unavailable = (cause: Cause.Cause<unknown>, database: string): Unavailable => {
  const error = Cause.squash(cause) as { readonly _tag?: unknown; readonly message?: unknown; readonly cause?: unknown }
  if (error._tag === "RedisUnavailable" || error._tag === "RedisError") {
    return new Unavailable({ message: String(error.message) })
  }
  let reason = typeof error.message === "string" ? error.message : String(error)
  for (let inner = error.cause, depth = 0; inner !== undefined && inner !== null && depth < 8; depth++) {
    const message = (inner as { readonly message?: unknown }).message
    if (typeof message === "string" && message !== "") reason = message
    inner = (inner as { readonly cause?: unknown }).cause
  }
  return new Unavailable({
    message: `the journal database ${redactUrl(database)} cannot be reached: ${reason.split("\n")[0]}` +
      " (check `database` in gleitzeit.yaml or GLEITZEIT_DATABASE)"
  })
}

/** Builds the client. */
export const make = (options: Options): Effect.Effect<Client["Type"], never, CliConfig.Configuration | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* CliConfig.Configuration
    const document = yield* Effect.serviceOption(WorkflowFile.WorkflowDocument)
    const scope = yield* Effect.scope
    const s = config.settings
    const cluster = CliConfig.isCluster(s.database)
    const build = <A, E>(layer: Layer.Layer<A, E>) => Layer.buildWithScope(layer, scope)

    /**
     * The providers of this invocation: the configuration's, narrowed, tuned or extended by the workflow's
     * `providers:` block as the grants allow. With no LLM endpoint configured, a local Ollama is probed once.
     */
    const decided = yield* Effect.cached(Effect.gen(function*() {
      const notes: Array<string> = []
      let llm = config.llm
      if (options.providers && !cluster && !config.llmDeclared && (usesLlm(document) || Option.isNone(document))) {
        if (yield* ollamaAnswers(config.ollamaUrl)) {
          llm = {
            ...llm,
            endpoints: [{ name: "local", type: "ollama", url: config.ollamaUrl, weight: 1, priority: 0, tags: [] }]
          }
          notes.push(`llm: no endpoint configured; using the local Ollama at ${config.ollamaUrl}`)
        } else {
          notes.push(`llm: no endpoint configured, and no Ollama answers at ${config.ollamaUrl}`)
        }
      }
      const block = Option.flatMap(document, (d) => {
        const value = d.parsed.value
        return typeof value === "object" && value !== null && "providers" in value
          ? Option.some((value as { providers: unknown }).providers)
          : Option.none()
      })
      const decision = WorkflowProviders.decide(
        Option.getOrUndefined(block),
        { llm, mcp: options.providers ? config.mcp : [] },
        config.grants
      )
      return { decision, notes }
    }))

    /** The provider registry (the providers connected), built once. */
    const registry = yield* Effect.cached(Effect.gen(function*() {
      const { decision } = yield* decided
      const providers = options.providers
        ? Runtime.providers({
          mcp: decision.mcp,
          // A cluster's nodes execute the tasks with their own LLM and Python settings: only validation runs here.
          llm: cluster ? { ...decision.llm, endpoints: [], discoverPorts: [] } : decision.llm,
          python: cluster ? undefined : config.python
        })
        : Layer.empty
      return yield* build(
        Embedded.layerProviders({ http: Runtime.http(s), files: config.files, secrets: config.secrets, providers })
      )
    }))

    /**
     * The journal and event bus (and, in a cluster, the client-only member's engine), built once. A database or
     * Redis that cannot be reached is `Unavailable`, said in one line.
     */
    const storage = yield* Effect.cached(
      (cluster
        ? build(Cluster.layerClient({ database: s.database, bus: Runtime.clusterBus(Runtime.redis(s)) })).pipe(
          Effect.map((ctx) => ({
            ctx: Context.make(Journal.Journal, Context.get(ctx, Journal.Journal)).pipe(
              Context.add(EventBus.EventBus, Context.get(ctx, EventBus.EventBus))
            ),
            engine: Option.some(Context.get(ctx, Engine.Engine))
          }))
        )
        : build(
          SqlJournal.layerSqlite({ filename: s.database, synchronous: s.synchronous }).pipe(
            Layer.provideMerge(EventBus.layerMemory)
          )
        ).pipe(Effect.map((ctx) => ({ ctx, engine: Option.none<Engine.Engine["Type"]>() })))).pipe(
          Effect.catchAllCause((cause) => Effect.fail(unavailable(cause, s.database)))
        )
    )

    /** The engine: the cluster client's, or the embedded one over the journal and the registry. */
    const engine = yield* Effect.cached(Effect.gen(function*() {
      const { ctx, engine: clusterEngine } = yield* storage
      if (Option.isSome(clusterEngine)) return clusterEngine.value
      const providers = yield* registry
      const built = yield* build(
        Embedded.layerEngine({ concurrency: s.concurrency, maxPayloadBytes: s.maxPayloadBytes }).pipe(
          Layer.provide(Layer.succeedContext(Context.merge(ctx, providers)))
        )
      )
      return Context.get(built, Engine.Engine)
    }))

    const journal = Effect.map(storage, ({ ctx }) => Context.get(ctx, Journal.Journal))
    const withStorage = <A, E>(effect: Effect.Effect<A, E, Journal.Journal | EventBus.EventBus>) =>
      Effect.flatMap(storage, ({ ctx }) => Effect.provide(effect, ctx))
    const notFound = (runId: string) =>
      new WorkflowError.RunNotFound({ runId, message: `no run '${runId}' in the journal` })

    const validate: Client["Type"]["validate"] = (doc) =>
      Effect.gen(function*() {
        const { decision, notes } = yield* decided
        if (decision.refusals.length > 0) {
          return yield* Effect.fail(
            WorkflowError.WorkflowValidationError.fromIssues(
              doc.file,
              decision.refusals.map((finding) => issueOf(doc, finding))
            )
          )
        }
        const built = yield* registry
        const providers = Context.get(built, ProviderRegistry.ProviderRegistry)
        const loaded = yield* WorkflowLoader.fromParsed(doc.parsed, {
          file: doc.file,
          catalog: catalogOf(providers),
          ...PathPolicy.forWorkflow(Context.get(built, PathPolicy.PathPolicy), doc.file)
        })
        const unserved = cluster ? [] : unservedMethods(doc, loaded.workflow, providers, config.ollamaUrl)
        return {
          document: doc,
          workflow: loaded.workflow,
          warnings: [...decision.warnings.map((finding) => issueOf(doc, finding)), ...loaded.warnings],
          unserved,
          notes
        } satisfies Validated
      })

    const providersView: Effect.Effect<ProvidersView> = Effect.gen(function*() {
      const { decision, notes } = yield* decided
      const providers = Context.get(yield* registry, ProviderRegistry.ProviderRegistry)
      const health = yield* providers.health
      return {
        methods: providers.providers().flatMap((p) =>
          p.spec.methods.map((m) => ({
            provider: p.id,
            method: m.name,
            aliases: m.aliases ?? [],
            description: m.description
          }))
        ),
        health: health.map((h) => ({ provider: h.id, health: h.health })),
        llm: {
          endpoints: decision.llm.endpoints.map((e) => ({ name: e.name, url: e.url, type: e.type })),
          notes
        },
        python: { backend: config.python.backend },
        mcp: decision.mcp.map((server) => ({
          name: server.name,
          transport: server.transport._tag === "stdio"
            ? `stdio: ${[server.transport.command, ...(server.transport.args ?? [])].join(" ")}`
            : `http: ${server.transport.url}`
        }))
      }
    })

    return Client.of({
      validate,
      submit: (validated) => Effect.flatMap(engine, (e) => e.submit(validated.workflow)),
      wait: (runId) => Effect.flatMap(engine, (e) => e.wait(runId)),
      events: (runId, eventOptions) =>
        Stream.unwrap(
          Effect.map(storage, ({ ctx }) => RunLog.events(runId, eventOptions).pipe(Stream.provideContext(ctx)))
        ),
      lastSeq: (runId) => Effect.flatMap(journal, (j) => j.lastSeq(runId)),
      run: (runId) =>
        withStorage(Effect.gen(function*() {
          const j = yield* Journal.Journal
          const record = yield* j.run(runId)
          if (Option.isNone(record)) return yield* Effect.fail(notFound(runId))
          return { run: record.value, tasks: yield* j.tasks(runId) }
        })),
      workflow: (runId) =>
        Effect.flatMap(journal, (j) =>
          Effect.flatMap(
            j.workflow(runId),
            Option.match({
              onNone: () => Effect.fail(notFound(runId)),
              onSome: (w: Workflow.Workflow) => Effect.succeed(w)
            })
          )),
      list: (query) => Effect.flatMap(journal, (j) => j.runs({ status: query.status, limit: query.limit })),
      cancel: (runId, reason) => Effect.flatMap(engine, (e) => e.cancel(runId, reason)),
      resume: (runId) => Effect.flatMap(engine, (e) => e.resume(runId)),
      resumeAll: Effect.flatMap(engine, (e) => e.recover),
      providers: providersView
    })
  })

/**
 * Tasks whose method no provider here serves (e.g. `llm/chat` with no LLM endpoint), with what to configure:
 * `validate` warns about them, `run` refuses to start.
 */
const unservedMethods = (
  document: WorkflowFile.Document,
  workflow: Workflow.Workflow,
  registry: ProviderRegistry.ProviderRegistry["Type"],
  ollamaUrl: string
): ReadonlyArray<WorkflowError.Issue> => {
  const issues: Array<WorkflowError.Issue> = []
  const rawTasks = (document.parsed.value as { tasks?: unknown }).tasks
  workflow.tasks.forEach((task, index) => {
    if (registry.lookup(task.method) !== undefined) return
    const path = Array.isArray(rawTasks) && rawTasks.length === workflow.tasks.length
      ? ["tasks", index, "method"]
      : ["tasks"]
    const message = task.method.startsWith("llm/")
      ? `no LLM endpoint serves ${task.method}: none is configured and no Ollama answers at ${ollamaUrl}; ${
        llmHint(ollamaUrl)
      }`
      : `no configured provider serves ${task.method}`
    issues.push(issueOf(document, { path, message }, ErrorCode.MethodNotFound))
  })
  return issues
}

/** The local client (the composition root says which commands need providers). */
export const layer = (options: Options): Layer.Layer<Client, never, CliConfig.Configuration> =>
  Layer.scoped(Client, make(options))
