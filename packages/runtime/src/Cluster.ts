/**
 * The cluster compositions. A node (`gleitzeit node`) hosts run actors and task workers over the shared PostgreSQL
 * journal; a client (`gleitzeit submit`, `status`, `cancel`… from any host) joins as a client-only member. Both
 * expose the same `Engine` as embedded mode: the CLI and library code do not change with the placement.
 */
import type { Sharding } from "@effect/cluster/Sharding"
import type { FnProvider, HttpProvider, PathPolicy, ProviderRegistry } from "@gleitzeit/providers"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as ClusterEntities from "./ClusterEntities.js"
import * as ClusterRuns from "./ClusterRuns.js"
import * as ClusterSharding from "./ClusterSharding.js"
import * as ClusterWorkers from "./ClusterWorkers.js"
import * as Embedded from "./Embedded.js"
import type { Engine } from "./Engine.js"
import { EngineConfig } from "./EngineConfig.js"
import * as EventBus from "./EventBus.js"
import { Journal } from "./Journal.js"
import * as Scheduler from "./Scheduler.js"
import * as SqlJournal from "./SqlJournal.js"

/** What every member needs. */
export interface MemberOptions<E = never> {
  /** The PostgreSQL URL shared by the cluster. */
  readonly database: Redacted.Redacted | string
  /** The event bus (default: in-process; `EventBus.layerRedis` shares events between members). */
  readonly bus?: Layer.Layer<EventBus.EventBus, E>
  /** Timings of the membership. */
  readonly tuning?: Partial<ClusterSharding.Tuning>
}

/** A node's settings. */
export interface NodeOptions<E = never> extends MemberOptions<E> {
  /** The node's name in the journal (which node ran what). */
  readonly name: string
  /** The address other members reach this node on. */
  readonly advertise: ClusterSharding.Address
  /** The address to listen on (default: the advertised one). */
  readonly listen?: ClusterSharding.Address
  /** Task attempts running at once on this node. */
  readonly concurrency?: number
  /** Largest task result in bytes. */
  readonly maxPayloadBytes?: number
  /** TypeScript functions to serve as `fn/<name>`. */
  readonly functions?: ReadonlyArray<FnProvider.Definition>
  /** Further provider layers (LLM, Python, MCP…). */
  readonly providers?: Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | PathPolicy.PathPolicy>
  /** The path policy host path params are read through (see `Embedded.Options.files`). */
  readonly files?: Partial<PathPolicy.Settings>
  /** The secrets tasks executed on this node may name as `${secrets.NAME}`. */
  readonly secrets?: Readonly<Record<string, string | Redacted.Redacted<string>>>
  /** Settings of the HTTP provider. */
  readonly http?: Partial<typeof HttpProvider.HttpConfig.Service>
  /** How often stored messages of ended runs are deleted. */
  readonly pruneInterval?: Duration.DurationInput
  /** How LLM calls find their worker: by task (spread, the default) or by model (to where the model is loaded). */
  readonly llmRouting?: ClusterEntities.Routing
}

const tuningOf = <E>(options: MemberOptions<E>): ClusterSharding.Tuning => ({
  ...ClusterSharding.defaultTuning,
  ...options.tuning
})

/** The shared database (journal tables migrated) and the journal over it. */
const storage = <E>(options: MemberOptions<E>, maxConnections: number) =>
  Layer.scoped(Journal, SqlJournal.make).pipe(
    Layer.provideMerge(SqlJournal.layerPgClient({ url: options.database, maxConnections })),
    Layer.provideMerge(options.bus ?? EventBus.layerMemory)
  )

/**
 * A cluster node: run actors, task workers, the engine, the providers and the journal. Closing it (SIGTERM, Ctrl-C)
 * drains first: runs are handed over once their attempts in flight have finished, within the drain timeout.
 */
export const layerNode = <E = never>(options: NodeOptions<E>) => {
  const tuning = tuningOf(options)
  const concurrency = options.concurrency ?? EngineConfig.defaults.concurrency
  const config = EngineConfig.layer({
    node: options.name,
    concurrency,
    ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes })
  })
  const membership = ClusterSharding.layer(
    { _tag: "Runner", advertise: options.advertise, listen: options.listen },
    tuning
  )
  const actors = Layer.mergeAll(
    ClusterRuns.layerRunActors.pipe(
      Layer.provide(ClusterWorkers.layerExecutor(options.llmRouting)),
      Layer.provide(Scheduler.layer(concurrency))
    ),
    ClusterWorkers.layerWorkers(concurrency),
    Layer.scopedDiscard(Effect.forkScoped(ClusterRuns.pruneMessages(options.pruneInterval ?? "30 seconds")))
  )
  // Built after the actors, so released before them: the drain runs while the node is still a full member.
  const drain = Layer.scopedDiscard(Effect.addFinalizer(() => ClusterRuns.drain(tuning.drainTimeout)))
  return Layer.mergeAll(drain, ClusterRuns.layerEngine).pipe(
    Layer.provideMerge(actors),
    Layer.provideMerge(ClusterRuns.LocalRuns.layer),
    Layer.provideMerge(membership),
    Layer.provideMerge(Embedded.layerProviders(options)),
    Layer.provideMerge(config),
    Layer.provideMerge(storage(options, 16))
  )
}

/** A client-only member: submits, follows, cancels and resumes runs executing on the nodes. */
export const layerClient = <E = never>(options: MemberOptions<E> & { readonly name?: string }): Layer.Layer<
  Engine | Journal | EventBus.EventBus | Sharding | EngineConfig,
  E
> =>
  ClusterRuns.layerEngine.pipe(
    // A client listens on nothing: it cannot fail to.
    Layer.provideMerge(Layer.orDie(ClusterSharding.layer({ _tag: "Client" }, tuningOf(options)))),
    Layer.provideMerge(EngineConfig.layer(options.name === undefined ? {} : { node: options.name })),
    Layer.provideMerge(storage(options, 4))
  )
