/**
 * The `gleitzeit` commands. Each command that needs the engine gets the embedded runtime built from the
 * configuration (`gleitzeit.yaml`, `--config`, `GLEITZEIT_*`).
 */
import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import {
  DemoToolsProtocol,
  HttpProtocol,
  LlmProtocol,
  Protocol,
  PythonProtocol,
  type Workflow,
  WorkflowError,
  WorkflowLoader
} from "@gleitzeit/core"
import {
  LlmConfig,
  LlmProvider,
  McpConfig,
  McpProvider,
  ProviderRegistry,
  PythonConfig,
  PythonProvider,
  RateLimiter,
  Redis,
  ResponseCache
} from "@gleitzeit/providers"
import { BatchFiles, Cluster, ClusterSharding, Embedded, Engine, EventBus, Journal, RunLog } from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { parse } from "yaml"
import * as CliConfig from "./CliConfig.js"
import * as ExitCode from "./ExitCode.js"
import * as Printer from "./Printer.js"
import * as Templates from "./Templates.js"

const configOption = Options.file("config").pipe(
  Options.withDescription("configuration file (default: ./gleitzeit.yaml when present)"),
  Options.optional
)

/** The root command: global options only. */
export const root = Command.make("gleitzeit", { config: configOption })

const fail = (code: number, message?: string) =>
  Effect.zipRight(
    message === undefined ? Effect.void : Console.error(message),
    Effect.fail(new ExitCode.Exit({ code }))
  )

const settings = Effect.flatMap(root, ({ config }) => CliConfig.load(Option.getOrUndefined(config))).pipe(
  Effect.catchAll((error) => fail(ExitCode.InvalidInput, `configuration: ${error.message}`))
)

/** Which MCP servers a command connects: none, the configuration's, or also those of a workflow file. */
type McpScope = { readonly workflow?: string } | undefined

/** The MCP servers of the configuration's `mcp` section, plus those of the workflow's `providers.mcp` block. */
const mcpServers = (scope: McpScope) =>
  scope === undefined
    ? Effect.succeed<ReadonlyArray<McpConfig.Server>>([])
    : Effect.gen(function*() {
      const { config } = yield* root
      const configured = yield* CliConfig.loadMcp(Option.getOrUndefined(config)).pipe(
        Effect.catchAll((error) => fail(ExitCode.InvalidInput, `configuration: ${error.message}`))
      )
      if (scope.workflow === undefined) return configured
      const file = scope.workflow
      const declared = yield* Effect.try(() => (parse(readFileSync(file, "utf8")) ?? {}) as { providers?: unknown })
        .pipe(
          Effect.orElseSucceed(() => ({ providers: undefined })),
          Effect.flatMap((document) => McpConfig.fromProviders(document.providers)),
          Effect.catchAll((error) => fail(ExitCode.InvalidInput, `✘ ${file}: providers.mcp: ${error.message}`))
        )
      return McpConfig.merge(configured, declared)
    })

/**
 * The LLM settings of the configuration's `llm` section, plus the endpoints and strategy of the workflow's
 * `providers` block (the predecessor's Ollama pool); what does not map is a warning.
 */
const llmSettings = (scope: McpScope) =>
  scope === undefined
    ? Effect.succeed(LlmConfig.LlmConfig.defaults)
    : Effect.gen(function*() {
      const { config } = yield* root
      const configured = yield* CliConfig.loadLlm(Option.getOrUndefined(config)).pipe(
        Effect.catchAll((error) => fail(ExitCode.InvalidInput, `configuration: llm: ${error.message}`))
      )
      if (scope.workflow === undefined) return configured
      const file = scope.workflow
      const document = yield* Effect.try(() => (parse(readFileSync(file, "utf8")) ?? {}) as { providers?: unknown })
        .pipe(
          Effect.orElseSucceed(() => ({ providers: undefined }))
        )
      const declared = LlmConfig.fromProviders(document.providers)
      for (const warning of declared.warnings) yield* Console.error(`warning: ${file}: ${warning}`)
      return LlmConfig.merge(configured, declared)
    })

/**
 * The LLM provider over the configured endpoints (none registered without endpoints); in a cluster with Redis, its
 * rate limits and response cache are shared by every node.
 */
const llmProvider = (
  llm: LlmConfig.LlmConfig["Type"],
  shared?: Layer.Layer<RateLimiter.Backend | ResponseCache.ResponseCache>
) => {
  if (llm.endpoints.length === 0) return Layer.empty
  const provider = LlmProvider.layer.pipe(Layer.provide(LlmConfig.LlmConfig.layer(llm)))
  return shared === undefined ? provider : provider.pipe(Layer.provide(shared))
}

/** The Python sandbox settings of the configuration's `python` section (none for commands that run no task). */
const pythonSettings = (scope: McpScope) =>
  scope === undefined
    ? Effect.succeed(undefined)
    : Effect.flatMap(root, ({ config }) =>
      CliConfig.loadPython(Option.getOrUndefined(config)).pipe(
        Effect.catchAll((error) => fail(ExitCode.InvalidInput, `configuration: python: ${error.message}`))
      ))

/** The Python provider over the configured sandbox (python/* fail with how to enable one when none is available). */
const pythonProvider = (python: PythonConfig.Settings | undefined) =>
  python === undefined
    ? Layer.empty
    : PythonProvider.layer.pipe(Layer.provide(Layer.succeed(PythonConfig.PythonConfig, python)))

/** The provider layers built from configuration (MCP servers, LLM endpoints, Python sandbox), into the registry. */
const configuredProviders = (
  mcp: ReadonlyArray<McpConfig.Server>,
  llm = LlmConfig.LlmConfig.defaults,
  python?: PythonConfig.Settings,
  shared?: Layer.Layer<RateLimiter.Backend | ResponseCache.ResponseCache>
) => Layer.mergeAll(McpProvider.layerServers(mcp), llmProvider(llm, shared), pythonProvider(python))

const httpSettings = (s: CliConfig.Settings) => ({
  defaultTimeout: Duration.seconds(s.http.timeoutSeconds),
  maxResponseBytes: s.http.maxResponseBytes
})

/**
 * The cluster's Redis, when one is configured; failing to reach it ends the command saying so. One layer value per
 * command, so everything using it shares one connection.
 */
const redisOf = (s: CliConfig.Settings) =>
  s.redis === undefined ? undefined : Redis.layer({ url: s.redis, keyPrefix: s.redisPrefix }).pipe(
    Layer.catchAll((error) =>
      Layer.fail(error).pipe(
        Layer.tapError(() => Console.error(`✘ ${error.message}`)),
        Layer.mapError(() => new ExitCode.Exit({ code: ExitCode.Unavailable }))
      )
    )
  )

/** The event bus of a cluster member: shared through Redis when one is configured. */
const clusterBus = (redis: ReturnType<typeof redisOf>) =>
  redis === undefined
    ? EventBus.layerMemory
    : EventBus.layerRedis.pipe(
      Layer.provide(redis),
      Layer.catchAll((error) => error instanceof ExitCode.Exit ? Layer.fail(error) : Layer.die(error))
    )

/**
 * The runtime of a command: embedded on a SQLite file, or a client-only member of the cluster when the database is
 * PostgreSQL (runs then execute on the nodes). Either way the providers are local, for validation.
 */
const runtimeLayer = (
  s: CliConfig.Settings,
  mcp: ReadonlyArray<McpConfig.Server>,
  llm: LlmConfig.LlmConfig["Type"],
  python: PythonConfig.Settings | undefined
): Layer.Layer<
  Engine.Engine | Journal.Journal | EventBus.EventBus | ProviderRegistry.ProviderRegistry,
  ExitCode.Exit
> =>
  CliConfig.isCluster(s.database)
    ? Layer.merge(
      Cluster.layerClient({ database: s.database, bus: clusterBus(redisOf(s)) }),
      // Only what validation needs: the nodes execute the tasks, with their own LLM and Python settings.
      Embedded.layerProviders({ http: httpSettings(s), providers: configuredProviders(mcp) })
    )
    : Embedded.layer({
      filename: s.database,
      synchronous: s.synchronous,
      concurrency: s.concurrency,
      maxPayloadBytes: s.maxPayloadBytes,
      http: httpSettings(s),
      providers: configuredProviders(mcp, llm, python)
    })

/** Runs `effect` with the embedded runtime of the configuration (connecting the MCP servers of `mcp`). */
const withRuntime = <A, E, R>(effect: Effect.Effect<A, E, R>, mcp?: McpScope) =>
  Effect.flatMap(
    Effect.all([settings, mcpServers(mcp), llmSettings(mcp), pythonSettings(mcp)]),
    ([s, servers, llm, python]) => Effect.provide(effect, runtimeLayer(s, servers, llm, python))
  )

/** Runs `effect` with the providers only (no journal). */
const withProviders = <A, E, R>(effect: Effect.Effect<A, E, R>, mcp?: McpScope) =>
  Effect.flatMap(
    Effect.all([settings, mcpServers(mcp), llmSettings(mcp), pythonSettings(mcp)]),
    ([s, servers, llm, python]) =>
      Effect.provide(
        effect,
        Embedded.layerProviders({ http: httpSettings(s), providers: configuredProviders(servers, llm, python) })
      )
  )

/**
 * The methods a workflow may use: every method of the protocols Gleitzeit defines, whether or not a provider for it
 * is configured (a task of an unconfigured one fails at run time saying so), plus the discovered ones (MCP tools,
 * functions).
 */
const catalogOf = (registry: ProviderRegistry.ProviderRegistry["Type"]): Protocol.Catalog =>
  Protocol.catalog([
    HttpProtocol.spec,
    LlmProtocol.spec,
    PythonProtocol.spec,
    DemoToolsProtocol.spec,
    ...registry.providers().map((provider) => provider.spec)
  ])

const readWorkflow = (file: string, catalog: Protocol.Catalog, quiet: boolean) =>
  Effect.gen(function*() {
    const text = yield* Effect.try({ try: () => readFileSync(file, "utf8"), catch: String }).pipe(
      Effect.catchAll((message) => fail(ExitCode.InvalidInput, `cannot read ${file}: ${message}`))
    )
    const loaded = yield* WorkflowLoader.load(text, { file, catalog, listFiles: BatchFiles.lister(file) }).pipe(
      Effect.catchTags({
        WorkflowParseError: (error) => fail(ExitCode.InvalidInput, `✘ ${error.message}`),
        WorkflowValidationError: (error) => fail(ExitCode.InvalidInput, `✘ ${error.message}`)
      })
    )
    if (!quiet) {
      for (const warning of loaded.warnings) yield* Console.error(`warning: ${warning.render(file)}`)
    }
    return loaded.workflow
  })

const runNotFound = (error: WorkflowError.RunNotFound | WorkflowError.InvalidRunState) =>
  fail(ExitCode.NotFound, `✘ ${error.message}`)

/** Prints a run's events as they happen until it ends, and returns its outcome; Ctrl-C cancels the run. */
const follow = (runId: string, afterSeq: number, names: Printer.TaskNames, quiet: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const printer = yield* RunLog.events(runId, { afterSeq, follow: true }).pipe(
      Stream.runForEach((event) => {
        const line = quiet ? undefined : Printer.renderEvent(event, names)
        return line === undefined ? Effect.void : Console.log(line)
      }),
      Effect.forkScoped
    )
    const outcome = yield* engine.wait(runId).pipe(
      Effect.onInterrupt(() =>
        engine.cancel(runId, "interrupted (Ctrl-C)").pipe(
          Effect.zipRight(Console.error(`■ run ${runId} cancelled (Ctrl-C)`)),
          Effect.ignore
        )
      ),
      Effect.orDie
    )
    yield* Fiber.join(printer)
    return outcome
  }))

const summary = (runId: string) =>
  Effect.gen(function*() {
    const journal = yield* Journal.Journal
    const run = Option.getOrThrow(yield* journal.run(runId))
    const tasks = yield* journal.tasks(runId)
    return {
      runId,
      workflow: run.name,
      status: run.status,
      outputs: run.outputs ?? null,
      error: run.error ?? null,
      startedAt: run.startedAt ?? null,
      finishedAt: run.finishedAt ?? null,
      tasks: tasks.map((t) => ({
        id: t.taskId,
        name: t.name,
        method: t.method,
        status: t.status,
        attempts: t.attempts,
        result: t.result ?? null,
        error: t.error ?? null
      }))
    }
  })

const finish = (outcome: Engine.Outcome, json: boolean) =>
  Effect.gen(function*() {
    if (json) yield* Console.log(JSON.stringify(yield* summary(outcome.runId), null, 2))
    if (outcome.status !== "completed") return yield* Effect.fail(new ExitCode.Exit({ code: ExitCode.RunNotCompleted }))
  })

const jsonOption = Options.boolean("json").pipe(Options.withDescription("print a JSON summary instead of progress"))

const run = Command.make(
  "run",
  { file: Args.file({ name: "file", exists: "yes" }), json: jsonOption },
  ({ file, json }) =>
    withRuntime(
      Effect.gen(function*() {
        const registry = yield* ProviderRegistry.ProviderRegistry
        const workflow = yield* readWorkflow(file, catalogOf(registry), json)
        const engine = yield* Engine.Engine
        const runId = yield* engine.submit(workflow)
        const outcome = yield* follow(runId, 0, Printer.namesOf(workflow), json)
        yield* finish(outcome, json)
      }),
      { workflow: file }
    )
).pipe(Command.withDescription("Run a workflow file to the end, showing live progress"))

const submit = Command.make(
  "submit",
  {
    file: Args.file({ name: "file", exists: "yes" }),
    wait: Options.boolean("wait").pipe(Options.withDescription("follow the run to its end, as `run` does")),
    json: jsonOption
  },
  ({ file, json, wait }) =>
    Effect.flatMap(settings, (s) =>
      !CliConfig.isCluster(s.database)
        ? fail(
          ExitCode.InvalidInput,
          "✘ submit needs a cluster: set `database` to its postgres:// URL (gleitzeit.yaml or GLEITZEIT_DATABASE)"
        )
        : withRuntime(
          Effect.gen(function*() {
            const registry = yield* ProviderRegistry.ProviderRegistry
            const workflow = yield* readWorkflow(file, catalogOf(registry), json)
            const engine = yield* Engine.Engine
            const runId = yield* engine.submit(workflow)
            if (!wait) return yield* Console.log(json ? JSON.stringify({ runId }) : runId)
            if (!json) yield* Console.log(`▶ run ${runId} submitted`)
            const outcome = yield* follow(runId, 0, Printer.namesOf(workflow), json)
            yield* finish(outcome, json)
          }),
          { workflow: file }
        ))
).pipe(Command.withDescription("Hand a workflow to the cluster and print its run id; --wait follows it to the end"))

const addressOption = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withDescription(description),
    Options.mapEffect((text) =>
      Option.match(ClusterSharding.parseAddress(text), {
        onNone: () =>
          Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: expected host:port, got '${text}'`))),
        onSome: Effect.succeed
      })
    )
  )

const node = Command.make(
  "node",
  {
    listen: addressOption("listen", "address to listen on for other members (host:port)").pipe(
      Options.withDefault({ host: "127.0.0.1", port: 34431 })
    ),
    advertise: addressOption("advertise", "address other members reach this node on (default: --listen)").pipe(
      Options.optional
    ),
    name: Options.text("name").pipe(
      Options.withDescription("node name in the journal (default: host:port)"),
      Options.optional
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("task attempts at once"),
      Options.optional
    ),
    drainTimeout: Options.integer("drain-timeout").pipe(
      Options.withDescription("seconds a stopping node lets attempts in flight finish"),
      Options.withDefault(20)
    ),
    llmRouting: Options.choice("llm-routing", ["task", "model"]).pipe(
      Options.withDescription(
        "LLM calls go to workers by task (spread, the default) or by model (to where it is loaded)"
      ),
      Options.withDefault("task" as const)
    ),
    database: Options.text("database").pipe(
      Options.withDescription("the cluster's postgres:// URL (default: `database` of the configuration)"),
      Options.optional
    ),
    redis: Options.text("redis").pipe(
      Options.withDescription("Redis URL shared by the members (default: `redis` of the configuration)"),
      Options.optional
    )
  },
  (flags) =>
    Effect.gen(function*() {
      const configured = yield* settings
      const s: CliConfig.Settings = {
        ...configured,
        database: Option.getOrElse(flags.database, () => configured.database),
        redis: Option.getOrElse(flags.redis, () => configured.redis)
      }
      if (!CliConfig.isCluster(s.database)) {
        return yield* fail(
          ExitCode.InvalidInput,
          "✘ a node needs the cluster's PostgreSQL database: set `database` to a postgres:// URL (gleitzeit.yaml or GLEITZEIT_DATABASE)"
        )
      }
      const servers = yield* mcpServers({})
      const llm = yield* llmSettings({})
      const python = yield* pythonSettings({})
      const advertise = Option.getOrElse(flags.advertise, () => flags.listen)
      const redis = redisOf(s)
      const name = Option.getOrElse(flags.name, () => `${advertise.host}:${advertise.port}`)
      const layer = Cluster.layerNode({
        database: s.database,
        name,
        advertise,
        listen: flags.listen,
        concurrency: Option.getOrElse(flags.concurrency, () => s.concurrency),
        maxPayloadBytes: s.maxPayloadBytes,
        http: httpSettings(s),
        providers: configuredProviders(
          servers,
          llm,
          python,
          redis === undefined
            ? undefined
            : Layer.merge(RateLimiter.layerRedis(), ResponseCache.layerRedis()).pipe(Layer.provide(redis), Layer.orDie)
        ),
        bus: clusterBus(redis),
        tuning: { drainTimeout: Duration.seconds(flags.drainTimeout) },
        llmRouting: flags.llmRouting
      })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* Layer.build(layer).pipe(
          Effect.catchTag("ListenError", (error) => fail(ExitCode.Unavailable, `✘ ${error.message}`))
        )
        // Runs before the node's own finalizers (which drain it): tells the operator what is happening.
        yield* Effect.addFinalizer(() => Console.log(`◌ node ${name} draining`))
        yield* Console.log(`● node ${name} listening on ${flags.listen.host}:${flags.listen.port}`)
        return yield* Effect.never
      })).pipe(
        // A node stopped by SIGTERM or Ctrl-C has drained: that is a clean stop (exit status 0).
        Effect.onInterrupt(() =>
          Effect.zipRight(Console.log(`■ node ${name} stopped`), Effect.sync(ExitCode.markStoppedOnRequest))
        )
      )
    })
).pipe(Command.withDescription("Run a cluster node: it executes runs and task attempts submitted to the cluster"))

const validate = Command.make(
  "validate",
  { file: Args.file({ name: "file", exists: "yes" }) },
  ({ file }) =>
    withProviders(
      Effect.gen(function*() {
        const registry = yield* ProviderRegistry.ProviderRegistry
        const workflow: Workflow.Workflow = yield* readWorkflow(file, catalogOf(registry), false)
        yield* Console.log(
          `✔ ${file} is valid: ${workflow.name}, ${workflow.tasks.length} task${workflow.tasks.length === 1 ? "" : "s"}`
        )
      }),
      { workflow: file }
    )
).pipe(Command.withDescription("Check a workflow file and report every problem with its line and column"))

const runArg = Args.text({ name: "run" }).pipe(Args.withDescription("run id"))

const status = Command.make(
  "status",
  { run: runArg.pipe(Args.optional), json: Options.boolean("json") },
  ({ json, run }) =>
    withRuntime(Effect.gen(function*() {
      const journal = yield* Journal.Journal
      const runId = Option.isSome(run)
        ? run.value
        : (yield* journal.runs({ limit: 1 }))[0]?.id
      if (runId === undefined) return yield* fail(ExitCode.NotFound, "no runs yet")
      const record = yield* journal.run(runId)
      if (Option.isNone(record)) return yield* fail(ExitCode.NotFound, `✘ no run '${runId}' in the journal`)
      if (json) return yield* Console.log(JSON.stringify(yield* summary(runId), null, 2))
      yield* Console.log(Printer.renderStatus(record.value, yield* journal.tasks(runId)))
    }))
).pipe(Command.withDescription("Show a run (default: the latest) and its tasks"))

const list = Command.make(
  "list",
  {
    status: Options.choice("status", ["pending", "running", "completed", "failed", "cancelled", "timed_out"]).pipe(
      Options.optional
    ),
    limit: Options.integer("limit").pipe(Options.withDefault(20)),
    json: Options.boolean("json")
  },
  ({ json, limit, status }) =>
    withRuntime(Effect.gen(function*() {
      const journal = yield* Journal.Journal
      const runs = yield* journal.runs({ status: Option.getOrUndefined(status), limit })
      yield* Console.log(json ? JSON.stringify(runs, null, 2) : Printer.renderRuns(runs))
    }))
).pipe(Command.withDescription("List recent runs"))

const logs = Command.make(
  "logs",
  { run: runArg, follow: Options.boolean("follow").pipe(Options.withAlias("f")) },
  ({ follow: keepFollowing, run: runId }) =>
    withRuntime(Effect.gen(function*() {
      const journal = yield* Journal.Journal
      const names = yield* journal.workflow(runId).pipe(Effect.map(Option.map(Printer.namesOf)))
      if (Option.isNone(names)) return yield* fail(ExitCode.NotFound, `✘ no run '${runId}' in the journal`)
      yield* RunLog.events(runId, { follow: keepFollowing }).pipe(
        Stream.runForEach((event) => {
          const line = Printer.renderEvent(event, names.value)
          return line === undefined
            ? Effect.void
            : Console.log(`${new Date(event.at).toISOString().slice(11, 23)} ${line}`)
        })
      )
    }))
).pipe(Command.withDescription("Print a run's events; --follow keeps printing until it ends"))

const resume = Command.make(
  "resume",
  { run: runArg.pipe(Args.optional), all: Options.boolean("all"), json: jsonOption },
  ({ all, json, run: runOpt }) =>
    withRuntime(
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const journal = yield* Journal.Journal
        if (all) {
          const resumed = yield* engine.recover
          yield* Console.log(resumed.length === 0 ? "nothing to resume" : `resumed ${resumed.join(", ")}`)
          const outcomes = yield* Effect.forEach(resumed, (id) => Effect.orDie(engine.wait(id)))
          for (const o of outcomes) yield* Console.log(`${o.runId}: ${o.status}`)
          if (outcomes.some((o) => o.status !== "completed")) {
            return yield* Effect.fail(new ExitCode.Exit({ code: ExitCode.RunNotCompleted }))
          }
          return
        }
        if (Option.isNone(runOpt)) return yield* fail(ExitCode.InvalidInput, "give a run id, or --all")
        const runId = runOpt.value
        const afterSeq = yield* journal.lastSeq(runId)
        yield* engine.resume(runId).pipe(Effect.catchTags({ RunNotFound: runNotFound, InvalidRunState: runNotFound }))
        const workflow = Option.getOrThrow(yield* journal.workflow(runId))
        const outcome = yield* follow(runId, afterSeq, Printer.namesOf(workflow), json)
        yield* finish(outcome, json)
      }),
      {}
    )
).pipe(Command.withDescription("Resume an unfinished run (e.g. after a crash); completed tasks are not run again"))

const cancel = Command.make(
  "cancel",
  { run: runArg },
  ({ run: runId }) =>
    withRuntime(Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const outcome = yield* engine.cancel(runId).pipe(
        Effect.catchTags({ RunNotFound: runNotFound, InvalidRunState: runNotFound })
      )
      yield* Console.log(`■ run ${runId} ${outcome.status}`)
    }))
).pipe(Command.withDescription("Cancel an unfinished run"))

const providers = Command.make(
  "providers",
  {},
  () =>
    withProviders(
      Effect.gen(function*() {
        const registry = yield* ProviderRegistry.ProviderRegistry
        const health = yield* registry.health
        const rows = registry.providers().flatMap((p) =>
          p.spec.methods.map((m) => [
            p.id,
            m.name + (m.aliases === undefined || m.aliases.length === 0 ? "" : ` (= ${m.aliases.join(", ")})`),
            health.find((h) => h.id === p.id)?.health.status ?? "-",
            m.description
          ])
        )
        yield* Console.log(Printer.table(["PROVIDER", "METHOD", "HEALTH", "DESCRIPTION"], rows))
      }),
      {}
    )
).pipe(Command.withDescription("List providers, their methods and health"))

const init = Command.make(
  "init",
  {
    name: Args.text({ name: "name" }),
    type: Options.choice("type", Templates.kinds).pipe(Options.withDefault("basic" as const))
  },
  ({ name, type }) =>
    Effect.gen(function*() {
      if (!/^[\w.-]+$/.test(name)) return yield* fail(ExitCode.InvalidInput, `✘ '${name}' is not a valid file name`)
      const file = `${name}.yaml`
      if (existsSync(file)) return yield* fail(ExitCode.InvalidInput, `✘ ${file} already exists`)
      yield* Effect.sync(() => writeFileSync(file, Templates.render(name, type)))
      yield* Console.log(`✔ wrote ${file}; run it with: gleitzeit run ${file}`)
    })
).pipe(Command.withDescription("Write a starter workflow NAME.yaml"))

/** The whole command tree. */
export const command = root.pipe(
  Command.withSubcommands([run, submit, node, validate, status, list, logs, resume, cancel, providers, init])
)
