/**
 * Settings of the engine.
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import { hostname } from "node:os"

/** Engine settings. */
export class EngineConfig extends Context.Tag("@gleitzeit/runtime/EngineConfig")<EngineConfig, {
  /** Task attempts running at once across all runs. */
  readonly concurrency: number
  /** This process's name in the journal (`host:pid` by default). */
  readonly node: string
  /** Largest task result (JSON bytes) accepted. */
  readonly maxPayloadBytes: number
}>() {
  /** The defaults. */
  static readonly defaults = {
    concurrency: 64,
    node: `${hostname()}:${process.pid}`,
    maxPayloadBytes: 16 * 1024 * 1024
  }
  /** A layer with the defaults overridden by `partial`. */
  static readonly layer = (partial: Partial<Context.Tag.Service<EngineConfig>> = {}) =>
    Layer.succeed(EngineConfig, { ...EngineConfig.defaults, ...partial })
}
