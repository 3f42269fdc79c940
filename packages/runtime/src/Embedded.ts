/**
 * The embedded composition: one process, durable state in a SQLite file, the built-in providers. This is what
 * `gleitzeit run` uses and what a library user provides to run workflows in-process.
 */
import { DemoToolsProvider, FnProvider, HttpProvider, PathPolicy, ProviderRegistry } from "@gleitzeit/providers"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Engine from "./Engine.js"
import { EngineConfig } from "./EngineConfig.js"
import * as EventBus from "./EventBus.js"
import * as Executor from "./Executor.js"
import type { Journal } from "./Journal.js"
import * as Scheduler from "./Scheduler.js"
import * as Secrets from "./Secrets.js"
import * as SqlJournal from "./SqlJournal.js"

/** Options of the embedded runtime. */
export interface Options extends SqlJournal.SqliteOptions {
  /** Task attempts running at once. */
  readonly concurrency?: number
  /** TypeScript functions to serve as `fn/<name>`. */
  readonly functions?: ReadonlyArray<FnProvider.Definition>
  /** Further provider layers (LLM, Python, MCP…), registered into the same registry. */
  readonly providers?: Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | PathPolicy.PathPolicy>
  /**
   * The path policy host path params are read through (default: the working directory as the only root, hidden
   * names refused); exposed for loading workflows with the same policy.
   */
  readonly files?: Partial<PathPolicy.Settings>
  /** The secrets tasks may name as `${secrets.NAME}`, resolved by the executor (none by default). */
  readonly secrets?: Readonly<Record<string, string | Redacted.Redacted<string>>>
  /** Largest task result in bytes. */
  readonly maxPayloadBytes?: number
  /** Settings of the HTTP provider. */
  readonly http?: Partial<typeof HttpProvider.HttpConfig.Service>
  /** Another journal than the SQLite file (e.g. `SqlJournal.layerPg`). */
  readonly journal?: Layer.Layer<Journal, never, EventBus.EventBus>
}

/** The built-in providers: http, the demo tools and the given functions; and the path policy they read files through. */
export const layerProviders = (
  options: Pick<Options, "functions" | "providers" | "http" | "files" | "secrets"> = {}
) =>
  Layer.mergeAll(
    HttpProvider.layer.pipe(Layer.provide(HttpProvider.HttpConfig.layer(options.http ?? {}))),
    DemoToolsProvider.layer,
    FnProvider.layer(options.functions ?? []),
    options.providers ?? Layer.empty,
    Secrets.layer(options.secrets ?? {})
  ).pipe(Layer.provideMerge(ProviderRegistry.layer), Layer.provideMerge(PathPolicy.layer(options.files ?? {})))

/**
 * The engine over a journal, event bus and provider registry the caller supplies (e.g. a registry already built for
 * validation); exposes the engine and its config.
 */
export const layerEngine = (options: Pick<Options, "concurrency" | "maxPayloadBytes"> = {}) => {
  const config = EngineConfig.layer({
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: options.maxPayloadBytes })
  })
  return Engine.layer.pipe(
    Layer.provideMerge(Executor.layerLocal),
    Layer.provideMerge(Layer.merge(Scheduler.layer(options.concurrency ?? EngineConfig.defaults.concurrency), config))
  )
}

/** Everything the engine needs, on a SQLite journal; exposes the engine, journal, bus and registry. */
export const layer = (options: Options) => {
  const journal = options.journal ?? SqlJournal.layerSqlite(options)
  return layerEngine(options).pipe(
    Layer.provideMerge(Layer.merge(journal, layerProviders(options))),
    Layer.provideMerge(EventBus.layerMemory)
  )
}
