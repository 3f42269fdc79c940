/**
 * An opt-in cache of LLM answers keyed by (model, normalized request), used only for deterministic requests
 * (temperature 0 or a seed), so re-running a workflow does not pay twice. The service is an interface: the
 * in-memory LRU here serves embedded mode; `layerRedis` shares the answers between the nodes of a cluster.
 */
import { Json } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as Redis from "./Redis.js"

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
): boolean => options.temperature === 0 || options.seed !== undefined

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

/** Options of the Redis cache. */
export interface RedisOptions {
  /** How long an answer is kept, in seconds (rounded up to a whole second); default one day. */
  readonly ttlSeconds?: number
}

const JsonText = Schema.parseJson(Json.Json)

/**
 * A cache in Redis under `<prefix>cache:<key>`, shared by every node on the prefix; each answer expires after
 * `ttlSeconds`. A cache must not fail the call it would have saved: a Redis failure is logged and counts as a miss.
 */
export const makeRedis = (options: RedisOptions = {}): Effect.Effect<ResponseCache["Type"], never, Redis.Redis> =>
  Effect.map(Redis.Redis, (redis) => {
    const ttl = Math.max(1, Math.ceil(options.ttlSeconds ?? 86_400))
    const warn = (operation: string) => (error: { readonly message: string }) =>
      Effect.logWarning(`response cache: ${operation} failed, continuing without the cache: ${error.message}`)
    return ResponseCache.of({
      get: (k) =>
        redis.use("get", (c) => c.get(redis.key(`cache:${k}`))).pipe(
          Effect.flatMap((text) => text === null ? Effect.succeedNone : Effect.asSome(Schema.decode(JsonText)(text))),
          Effect.catchAll((error) => Effect.as(warn("get")(error), Option.none()))
        ),
      set: (k, value) =>
        Schema.encode(JsonText)(value).pipe(
          Effect.flatMap((text) => redis.use("set", (c) => c.set(redis.key(`cache:${k}`), text, "EX", ttl))),
          Effect.asVoid,
          Effect.catchAll(warn("set"))
        )
    })
  })

/** A cache shared through Redis. */
export const layerRedis = (options: RedisOptions = {}): Layer.Layer<ResponseCache, never, Redis.Redis> =>
  Layer.effect(ResponseCache, makeRedis(options))
