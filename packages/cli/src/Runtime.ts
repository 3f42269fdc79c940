/**
 * The runtime's layers as the configuration describes them: providers (MCP servers, LLM endpoints, the Python
 * sandbox), the cluster's Redis and event bus, the HTTP provider's settings. The local client and `gleitzeit node`
 * build on these; nothing here decides which command needs what.
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as HttpServer from "@effect/platform/HttpServer"
import {
  LlmConfig,
  LlmProvider,
  type McpConfig,
  McpProvider,
  type PathPolicy,
  ProviderRegistry,
  PythonConfig,
  PythonProvider,
  RateLimiter,
  Redis,
  ResponseCache
} from "@gleitzeit/providers"
import {
  ApiConfig,
  ApiServer,
  Cluster,
  ClusterSharding,
  Embedded,
  Engine,
  EngineConfig,
  EventBus,
  Journal,
  WorkflowRegistry
} from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CliConfig from "./CliConfig.js"
import { Unavailable } from "./Client.js"
import * as ExitCode from "./ExitCode.js"
import * as Printer from "./Printer.js"

/** The providers a run uses (after a workflow's `providers:` block was decided on). */
export interface Providers {
  readonly llm: LlmConfig.LlmConfig["Type"]
  readonly mcp: ReadonlyArray<McpConfig.Server>
  readonly python: PythonConfig.Settings | undefined
}

/** Backends a cluster's members share through Redis (LLM rate limits, response cache). */
export type Shared = Layer.Layer<RateLimiter.Backend | ResponseCache.ResponseCache>

/** The LLM provider over the endpoints (none registered without endpoints). */
const llmProvider = (llm: LlmConfig.LlmConfig["Type"], shared?: Shared) => {
  if (llm.endpoints.length === 0 && llm.discoverPorts.length === 0) return Layer.empty
  const provider = LlmProvider.layer.pipe(Layer.provide(LlmConfig.LlmConfig.layer(llm)))
  return shared === undefined ? provider : provider.pipe(Layer.provide(shared))
}

/** The Python provider over the sandbox (`python/*` fail saying how to enable one when none is available). */
const pythonProvider = (python: PythonConfig.Settings | undefined) =>
  python === undefined
    ? Layer.empty
    : PythonProvider.layer.pipe(Layer.provide(Layer.succeed(PythonConfig.PythonConfig, python)))

/** The provider layers (MCP servers, LLM endpoints, Python sandbox), registering into the registry. */
export const providers = (
  p: Providers,
  shared?: Shared
): Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | PathPolicy.PathPolicy> =>
  Layer.mergeAll(McpProvider.layerServers(p.mcp), llmProvider(p.llm, shared), pythonProvider(p.python))

/** The HTTP provider's settings. */
export const http = (s: CliConfig.Settings) => ({
  defaultTimeout: Duration.seconds(s.http.timeoutSeconds),
  maxResponseBytes: s.http.maxResponseBytes
})

/** The cluster's Redis, when one is configured (one layer value, so everything using it shares one connection). */
export const redis = (s: CliConfig.Settings) =>
  s.redis === undefined ? undefined : Redis.layer({ url: s.redis, keyPrefix: s.redisPrefix })

/** The event bus of a cluster member: shared through Redis when one is configured. */
export const clusterBus = (redisLayer: ReturnType<typeof redis>) =>
  redisLayer === undefined ? EventBus.layerMemory : EventBus.layerRedis.pipe(Layer.provide(redisLayer))

/** The LLM rate limits and response cache shared through Redis. */
export const shared = (redisLayer: NonNullable<ReturnType<typeof redis>>): Shared =>
  Layer.merge(RateLimiter.layerRedis(), ResponseCache.layerRedis()).pipe(Layer.provide(redisLayer), Layer.orDie)

/** What `gleitzeit node` is told on its command line (over the configuration). */
export interface NodeFlags {
  readonly listen: ClusterSharding.Address
  readonly advertise: Option.Option<ClusterSharding.Address>
  readonly name: Option.Option<string>
  readonly concurrency: Option.Option<number>
  readonly drainTimeout: number
  readonly llmRouting: "task" | "model"
  readonly database: Option.Option<string>
  readonly redis: Option.Option<string>
  /** Where the node serves the HTTP API (`host:port`, or `off`); default: the configuration's `api` section. */
  readonly api: Option.Option<string>
  /** The directory of registered workflows the API runs by name. */
  readonly workflows: Option.Option<string>
}

/** A running cluster node: its name, where it listens, and where it serves the HTTP API (if it does). */
export class ClusterNode extends Context.Tag("@gleitzeit/cli/ClusterNode")<ClusterNode, {
  readonly name: string
  readonly listen: ClusterSharding.Address
  readonly api: string | undefined
}>() {}

/** The HTTP API being served: its URL, and the unfinished runs resumed when it started. */
export class ApiServing extends Context.Tag("@gleitzeit/cli/ApiServing")<ApiServing, {
  readonly url: string
  readonly resumed: ReadonlyArray<string>
}>() {}

/** The default port of a node's HTTP API: its cluster port + 10000 (wrapping below 65536). */
export const nodeApiPort = (port: number): number => port + 10000 <= 65535 ? port + 10000 : port - 10000

/** The API's settings: the configuration's `api` section, with the command line's address and directory over it. */
const apiSettings = (
  config: CliConfig.Configuration["Type"],
  listen: Option.Option<ClusterSharding.Address>,
  workflows: Option.Option<string>
): ApiConfig.Settings => ({
  ...config.api,
  ...Option.match(listen, { onNone: () => ({}), onSome: ({ host, port }) => ({ host, port }) }),
  workflows: Option.getOrElse(workflows, () => config.api.workflows)
})

/**
 * The HTTP API over the engine in context (embedded, or a node's): registered workflows, keys and limits (shared
 * through Redis when one is given). Refusing to listen beyond loopback without a key is bad usage; a port that
 * cannot be had is a service unavailable.
 */
export const api = (
  settings: ApiConfig.Settings,
  redisLayer?: ReturnType<typeof redis>
): Layer.Layer<
  ApiServing,
  ExitCode.UsageError | Unavailable,
  | Engine.Engine
  | Journal.Journal
  | EventBus.EventBus
  | ProviderRegistry.ProviderRegistry
  | PathPolicy.PathPolicy
  | EngineConfig.EngineConfig
  | FileSystem.FileSystem
> =>
  Layer.scoped(
    ApiServing,
    Effect.gen(function*() {
      const server = ApiServer.layer.pipe(
        Layer.provide(WorkflowRegistry.layer(settings.workflows)),
        Layer.provide(ApiConfig.ApiConfig.layer(settings)),
        Layer.provide(
          redisLayer === undefined ? Layer.empty : RateLimiter.layerRedis().pipe(Layer.provide(redisLayer), Layer.orDie)
        )
      )
      const context = yield* Layer.build(server).pipe(
        Effect.catchTags({
          UnsafeListen: (error) => new ExitCode.UsageError({ message: error.message }),
          ServeError: (error) =>
            new Unavailable({
              message: `the API cannot listen on ${settings.host}:${settings.port}: ${
                error.cause instanceof Error ? error.cause.message : String(error.cause)
              }`
            })
        })
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      const url = address._tag === "TcpAddress"
        ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}`
        : address.path
      return { url, resumed: [] }
    })
  )

/** What `gleitzeit serve` is told on its command line (over the configuration). */
export interface ServeFlags {
  readonly listen: Option.Option<ClusterSharding.Address>
  readonly workflows: Option.Option<string>
}

/**
 * The HTTP API over an embedded engine on the configuration's SQLite journal, with its providers. Runs an earlier
 * process left unfinished (stopped, or killed) are resumed before it listens.
 */
export const serve = (flags: ServeFlags) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const config = yield* CliConfig.Configuration
    const s = config.settings
    if (CliConfig.isCluster(s.database)) {
      return yield* new ExitCode.UsageError({
        message:
          "serve runs an embedded engine on a SQLite journal; in a cluster, every `gleitzeit node` serves the API"
      })
    }
    const engine = Embedded.layer({
      filename: s.database,
      synchronous: s.synchronous,
      concurrency: s.concurrency,
      maxPayloadBytes: s.maxPayloadBytes,
      http: http(s),
      files: config.files,
      secrets: config.secrets,
      providers: providers({ llm: config.llm, mcp: config.mcp, python: config.python })
    })
    const settings = apiSettings(config, flags.listen, flags.workflows)
    // Built first, released last: says the server stopped once its runs are suspended.
    const stopped = Layer.scopedDiscard(Effect.addFinalizer(() => Console.log("■ stopped")))
    return Layer.scoped(
      ApiServing,
      Effect.gen(function*() {
        const context = yield* Layer.build(engine)
        const resumed = yield* Context.get(context, Engine.Engine).recover
        const serving = yield* Layer.build(api(settings).pipe(Layer.provide(Layer.succeedContext(context))))
        return { ...Context.get(serving, ApiServing), resumed }
      })
    ).pipe(Layer.provideMerge(stopped))
  }))

/**
 * A cluster node (run actors, task workers, the providers of the configuration) over the cluster's PostgreSQL
 * database. Closing it drains it; "stopped" is printed once it has.
 */
export const node = (flags: NodeFlags): Layer.Layer<
  ClusterNode,
  ClusterSharding.ListenError | Redis.RedisUnavailable | Redis.RedisError | ExitCode.UsageError | Unavailable,
  CliConfig.Configuration | FileSystem.FileSystem
> =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const config = yield* CliConfig.Configuration
    const s: CliConfig.Settings = {
      ...config.settings,
      database: Option.getOrElse(flags.database, () => config.settings.database),
      redis: Option.getOrElse(flags.redis, () => config.settings.redis)
    }
    if (!CliConfig.isCluster(s.database)) {
      return yield* new ExitCode.UsageError({
        message: "a node needs the cluster's PostgreSQL database: set `database` to a postgres:// URL " +
          "(gleitzeit.yaml, GLEITZEIT_DATABASE or --database)"
      })
    }
    const advertise = Option.getOrElse(flags.advertise, () => flags.listen)
    const name = Option.getOrElse(flags.name, () => `${advertise.host}:${advertise.port}`)
    const redisLayer = redis(s)
    const cluster = Cluster.layerNode({
      database: s.database,
      name,
      advertise,
      listen: flags.listen,
      concurrency: Option.getOrElse(flags.concurrency, () => s.concurrency),
      maxPayloadBytes: s.maxPayloadBytes,
      http: http(s),
      files: config.files,
      secrets: config.secrets,
      providers: providers(
        { llm: config.llm, mcp: config.mcp, python: config.python },
        redisLayer === undefined ? undefined : shared(redisLayer)
      ),
      bus: clusterBus(redisLayer),
      tuning: { drainTimeout: Duration.seconds(flags.drainTimeout) },
      llmRouting: flags.llmRouting
    })
    // Built first, released last: says the node stopped once it has drained.
    const stopped = Layer.scopedDiscard(
      Effect.addFinalizer(() => Console.log(`■ node ${Printer.escape(name)} stopped`))
    )
    const apiFlag = Option.getOrUndefined(flags.api)
    // By default on loopback, at the node's own port + 10000: several nodes on one host do not collide.
    const apiListen = apiFlag === "off"
      ? Option.none()
      : apiFlag === undefined
      ? Option.some({ host: "127.0.0.1", port: nodeApiPort(flags.listen.port) })
      : ClusterSharding.parseAddress(apiFlag)
    if (apiFlag !== undefined && apiFlag !== "off" && Option.isNone(apiListen)) {
      return yield* new ExitCode.UsageError({ message: `--api: expected host:port or off, got '${apiFlag}'` })
    }
    // Built last, released first: the API stops answering before the node drains.
    const info = apiFlag === "off"
      ? Layer.succeed(ClusterNode, { name, listen: flags.listen, api: undefined })
      : Layer.map(
        api(apiSettings(config, apiListen, flags.workflows), redisLayer),
        (context) =>
          Context.make(ClusterNode, { name, listen: flags.listen, api: Context.get(context, ApiServing).url })
      )
    return info.pipe(Layer.provideMerge(cluster), Layer.provideMerge(stopped))
  }))
