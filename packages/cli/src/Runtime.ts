/**
 * The runtime's layers as the configuration describes them: providers (MCP servers, LLM endpoints, the Python
 * sandbox), the cluster's Redis and event bus, the HTTP provider's settings. The local client and `gleitzeit node`
 * build on these; nothing here decides which command needs what.
 */
import {
  LlmConfig,
  LlmProvider,
  type McpConfig,
  McpProvider,
  type PathPolicy,
  type ProviderRegistry,
  PythonConfig,
  PythonProvider,
  RateLimiter,
  Redis,
  ResponseCache
} from "@gleitzeit/providers"
import { Cluster, type ClusterSharding, EventBus } from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as CliConfig from "./CliConfig.js"
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
}

/** A running cluster node: its name and where it listens. */
export class ClusterNode extends Context.Tag("@gleitzeit/cli/ClusterNode")<ClusterNode, {
  readonly name: string
  readonly listen: ClusterSharding.Address
}>() {}

/**
 * A cluster node (run actors, task workers, the providers of the configuration) over the cluster's PostgreSQL
 * database. Closing it drains it; "stopped" is printed once it has.
 */
export const node = (flags: NodeFlags): Layer.Layer<
  ClusterNode,
  ClusterSharding.ListenError | Redis.RedisUnavailable | Redis.RedisError | ExitCode.UsageError,
  CliConfig.Configuration
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
    return Layer.succeed(ClusterNode, { name, listen: flags.listen }).pipe(
      Layer.provideMerge(cluster),
      Layer.provideMerge(stopped)
    )
  }))
