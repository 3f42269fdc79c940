/**
 * An opt-in cache of LLM answers keyed by (model, normalized request), used only for deterministic requests
 * (temperature 0 or a seed), so re-running a workflow does not pay twice. The service is an interface: the
 * in-memory LRU here serves embedded mode; a shared store (Redis) can provide the same tag later.
 */
import type { Json } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { createHash } from "node:crypto"

/** The response cache service. */
export class ResponseCache extends Context.Tag("@gleitzeit/providers/ResponseCache")<ResponseCache, {
  /** The cached answer for a key. */
  readonly get: (key: string) => Effect.Effect<Option.Option<Json.Json>>
  /** Stores an answer. */
  readonly set: (key: string, value: Json.Json) => Effect.Effect<void>
}>() {}

/** JSON with object keys sorted, so equal requests give equal text whatever their key order. */
const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/** The cache key of a request to a model: a SHA-256 of the model and the canonical request. */
export const key = (model: string, request: unknown): string =>
  `llm:${model}:${createHash("sha256").update(canonical(request)).digest("hex")}`

/** Whether a request is deterministic enough to cache: temperature 0 or a seed. */
export const isDeterministic = (
  options: { readonly temperature?: number | undefined; readonly seed?: number | undefined }
): boolean =>
  options.temperature === 0 || options.seed !== undefined

/** An in-memory LRU cache of at most `maxEntries` answers. */
export const makeMemory = (maxEntries: number) =>
  Effect.sync(() => {
    const entries = new Map<string, Json.Json>()
    return ResponseCache.of({
      get: (k) =>
        Effect.sync(() => {
          const value = entries.get(k)
          if (value === undefined) return Option.none()
          entries.delete(k)
          entries.set(k, value)
          return Option.some(value)
        }),
      set: (k, value) =>
        Effect.sync(() => {
          entries.delete(k)
          entries.set(k, value)
          while (entries.size > maxEntries) entries.delete(entries.keys().next().value!)
        })
    })
  })

/** A layer with the in-memory LRU cache. */
export const layerMemory = (maxEntries = 1000): Layer.Layer<ResponseCache> =>
  Layer.effect(ResponseCache, makeMemory(maxEntries))
