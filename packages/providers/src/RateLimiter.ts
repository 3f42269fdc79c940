/**
 * Token-aware rate limits (requests per minute and tokens per minute) per key, e.g. `model:llama3` and
 * `endpoint:gpu-1`. A call reserves one request and its estimated tokens on every key it touches, waiting until all
 * buckets have room; afterwards it settles with the tokens it really used (the difference is refunded or charged
 * as debt). A `429` blocks a key for its `retry-after`. Checking and taking is one synchronous step, so calls on
 * independent keys never wait for each other. Time is Effect's `Clock`, so `TestClock` drives the waits.
 *
 * `make` keeps the buckets in memory (one process); `makeRedis` keeps them in Redis, so every node on the same key
 * prefix shares one budget: each step is one Lua script, atomic across all the keys of a call. Providers use the
 * `Backend` in their context when there is one, else the in-memory limiter.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Redis from "./Redis.js"

/** The limits of one key; an absent limit is unlimited. */
export interface Limit {
  readonly requestsPerMinute?: number
  readonly tokensPerMinute?: number
}

/** A reservation, to settle once the call's real token usage is known. */
export interface Permit {
  /** Corrects the reserved tokens to `actualTokens` (0 when the call failed before generating). */
  readonly settle: (actualTokens: number) => Effect.Effect<void>
}

/** A rate limiter over keys. */
export interface RateLimiter {
  /** Waits until every key has room for one request and `estimatedTokens`, then takes them. */
  readonly reserve: (keys: ReadonlyArray<string>, estimatedTokens: number) => Effect.Effect<Permit>
  /**
   * Takes one request and `tokens` on every key when all have room now (answering 0); otherwise takes nothing and
   * answers the milliseconds until they will (for callers that refuse rather than wait, e.g. an HTTP 429).
   */
  readonly tryReserve: (keys: ReadonlyArray<string>, tokens: number) => Effect.Effect<number>
  /** Blocks a key for `ms` (a `429` with `retry-after`). */
  readonly block: (key: string, ms: number) => Effect.Effect<void>
}

interface Bucket {
  readonly limit: Limit
  requests: number
  tokens: number
  updatedAt: number
  blockedUntil: number
}

const perMs = (perMinute: number) => perMinute / 60_000

/** Slack for floating-point refills (30 s at 2/min is 0.9999999… requests). */
const epsilon = 1e-6

const refill = (bucket: Bucket, now: number) => {
  const elapsed = Math.max(0, now - bucket.updatedAt)
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = bucket.limit
  if (rpm !== undefined) bucket.requests = Math.min(rpm, bucket.requests + elapsed * perMs(rpm))
  if (tpm !== undefined) bucket.tokens = Math.min(tpm, bucket.tokens + elapsed * perMs(tpm))
  bucket.updatedAt = now
}

/** Milliseconds until `bucket` has room for one request and `tokens` (0: now). */
const waitFor = (bucket: Bucket, tokens: number, now: number): number => {
  let wait = Math.max(0, bucket.blockedUntil - now)
  const { requestsPerMinute: rpm, tokensPerMinute: tpm } = bucket.limit
  if (rpm !== undefined && bucket.requests < 1 - epsilon) {
    wait = Math.max(wait, (1 - epsilon - bucket.requests) / perMs(rpm))
  }
  if (tpm !== undefined) {
    const need = Math.min(tokens, tpm)
    if (bucket.tokens < need - epsilon) wait = Math.max(wait, (need - epsilon - bucket.tokens) / perMs(tpm))
  }
  return Math.ceil(wait)
}

/** Builds a limiter; keys without a limit are never held back (except by `block`). */
export const make = (limits: ReadonlyMap<string, Limit>): Effect.Effect<RateLimiter> =>
  Effect.gen(function*() {
    const buckets = new Map<string, Bucket>()
    const start = yield* Clock.currentTimeMillis
    const bucketOf = (key: string): Bucket => {
      let bucket = buckets.get(key)
      if (bucket === undefined) {
        const limit = limits.get(key) ?? {}
        bucket = {
          limit,
          requests: limit.requestsPerMinute ?? 0,
          tokens: limit.tokensPerMinute ?? 0,
          updatedAt: start,
          blockedUntil: 0
        }
        buckets.set(key, bucket)
      }
      return bucket
    }
    const tryTake = (keys: ReadonlyArray<string>, tokens: number): Effect.Effect<number> =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const selected = keys.map(bucketOf)
        let wait = 0
        for (const bucket of selected) {
          refill(bucket, now)
          wait = Math.max(wait, waitFor(bucket, tokens, now))
        }
        if (wait > 0) return wait
        for (const bucket of selected) {
          if (bucket.limit.requestsPerMinute !== undefined) bucket.requests -= 1
          if (bucket.limit.tokensPerMinute !== undefined) bucket.tokens -= tokens
        }
        return 0
      })
    const take = (keys: ReadonlyArray<string>, tokens: number): Effect.Effect<void> =>
      Effect.flatMap(tryTake(keys, tokens), (wait) =>
        // Re-check at least every second, so refunds from settled calls are picked up early.
        wait > 0 ? Effect.zipRight(Effect.sleep(Math.min(wait, 1000)), take(keys, tokens)) : Effect.void)

    const limiter: RateLimiter = {
      reserve: (keys, estimatedTokens) =>
        Effect.as(take(keys, estimatedTokens), {
          settle: (actual) =>
            Effect.sync(() => {
              for (const key of keys) {
                const bucket = bucketOf(key)
                if (bucket.limit.tokensPerMinute !== undefined) bucket.tokens += estimatedTokens - actual
              }
            })
        }),
      tryReserve: tryTake,
      block: (key, ms) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            const bucket = bucketOf(key)
            bucket.blockedUntil = Math.max(bucket.blockedUntil, now + ms)
          }))
    }
    return limiter
  })

/** Where providers build their limiters from; absent, they use the in-memory `make`. */
export class Backend extends Context.Tag("@gleitzeit/providers/RateLimiter/Backend")<Backend, {
  /** Builds a limiter enforcing `limits`. */
  readonly make: (limits: ReadonlyMap<string, Limit>) => Effect.Effect<RateLimiter>
}>() {}

/** Options of the Redis limiter. */
export interface RedisOptions {
  /** How long an untouched bucket is kept once it is full again (and no block runs); default 2 minutes. */
  readonly idleTtl?: Duration.DurationInput
}

/**
 * The bucket logic in Lua, shared by the scripts. ARGV: now (ms, the caller's Clock), the idle TTL (ms), the
 * script's amount, then requests/min and tokens/min per key (-1: unlimited). A bucket is a hash (requests, tokens,
 * updatedAt, blockedUntil); an absent one is full. Each save sets the key's expiry to when it would be full and
 * unblocked again, at least the idle TTL, so idle buckets vanish without changing any answer.
 */
const prelude = `
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local epsilon = 1e-6
local function fmt(x) return string.format("%.17g", x) end
local function load(i)
  local rpm = tonumber(ARGV[2 + 2 * i])
  local tpm = tonumber(ARGV[3 + 2 * i])
  if rpm < 0 then rpm = nil end
  if tpm < 0 then tpm = nil end
  local v = redis.call("HMGET", KEYS[i], "requests", "tokens", "updatedAt", "blockedUntil")
  local b = { rpm = rpm, tpm = tpm, requests = tonumber(v[1]) or rpm or 0, tokens = tonumber(v[2]) or tpm or 0,
    updatedAt = tonumber(v[3]) or now, blockedUntil = tonumber(v[4]) or 0 }
  local elapsed = math.max(0, now - b.updatedAt)
  if rpm then b.requests = math.min(rpm, b.requests + elapsed * rpm / 60000) end
  if tpm then b.tokens = math.min(tpm, b.tokens + elapsed * tpm / 60000) end
  b.updatedAt = math.max(b.updatedAt, now)
  return b
end
local function save(i, b)
  local keep = math.max(ttl, b.blockedUntil - now)
  redis.call("HSET", KEYS[i], "updatedAt", fmt(b.updatedAt), "blockedUntil", fmt(b.blockedUntil))
  if b.rpm then
    redis.call("HSET", KEYS[i], "requests", fmt(b.requests))
    if b.rpm > 0 then keep = math.max(keep, (b.rpm - b.requests) * 60000 / b.rpm) end
  end
  if b.tpm then
    redis.call("HSET", KEYS[i], "tokens", fmt(b.tokens))
    if b.tpm > 0 then keep = math.max(keep, (b.tpm - b.tokens) * 60000 / b.tpm) end
  end
  redis.call("PEXPIRE", KEYS[i], math.ceil(keep))
end
local function waitFor(b, tokens)
  local wait = math.max(0, b.blockedUntil - now)
  if b.rpm and b.requests < 1 - epsilon then
    wait = math.max(wait, (1 - epsilon - b.requests) * 60000 / b.rpm)
  end
  if b.tpm then
    local need = math.min(tokens, b.tpm)
    if b.tokens < need - epsilon then wait = math.max(wait, (need - epsilon - b.tokens) * 60000 / b.tpm) end
  end
  return math.min(3600000, math.ceil(wait))
end
`

/** Takes one request and `amount` tokens on every key when all have room (returns 0), else the ms to wait. */
const reserveScript = Redis.script(`${prelude}
local buckets = {}
local wait = 0
for i = 1, #KEYS do
  buckets[i] = load(i)
  wait = math.max(wait, waitFor(buckets[i], amount))
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  local b = buckets[i]
  if b.rpm then b.requests = b.requests - 1 end
  if b.tpm then b.tokens = b.tokens - amount end
  save(i, b)
end
return 0
`)

/** Adds `amount` tokens (a refund, or debt when negative) to every key with a token limit. */
const settleScript = Redis.script(`${prelude}
for i = 1, #KEYS do
  local b = load(i)
  if b.tpm then
    b.tokens = b.tokens + amount
    save(i, b)
  end
end
return 0
`)

/** Blocks every key for `amount` ms from now (a longer running block stays). */
const blockScript = Redis.script(`${prelude}
for i = 1, #KEYS do
  local b = load(i)
  b.blockedUntil = math.max(b.blockedUntil, now + amount)
  save(i, b)
end
return 0
`)

/**
 * Builds a limiter whose buckets live in Redis under `<prefix>ratelimit:<key>`, shared by every process on the same
 * prefix. Each process passes its own `limits` (nodes are expected to configure the same ones). Redis failures are
 * defects: the limiter cannot answer without its store.
 */
export const makeRedis = (
  limits: ReadonlyMap<string, Limit>,
  options: RedisOptions = {}
): Effect.Effect<RateLimiter, never, Redis.Redis> =>
  Effect.map(Redis.Redis, (redis) => {
    const ttl = Duration.toMillis(Duration.decode(options.idleTtl ?? "2 minutes"))
    const run = (script: Redis.Script, keys: ReadonlyArray<string>, amount: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        redis.eval(
          script,
          keys.map((key) => redis.key(`ratelimit:${key}`)),
          [
            now,
            ttl,
            amount,
            ...keys.flatMap((key) => {
              const limit = limits.get(key) ?? {}
              return [limit.requestsPerMinute ?? -1, limit.tokensPerMinute ?? -1]
            })
          ]
        )).pipe(Effect.flatMap(Schema.decodeUnknown(Schema.Number)), Effect.orDie)
    const take = (keys: ReadonlyArray<string>, tokens: number): Effect.Effect<void> =>
      Effect.flatMap(run(reserveScript, keys, tokens), (wait) =>
        // Re-check at least every second, so refunds from settled calls (on any node) are picked up early.
        wait > 0 ? Effect.zipRight(Effect.sleep(Math.min(wait, 1000)), take(keys, tokens)) : Effect.void)
    const limiter: RateLimiter = {
      reserve: (keys, estimatedTokens) =>
        Effect.as(take(keys, estimatedTokens), {
          settle: (actual) => Effect.asVoid(run(settleScript, keys, estimatedTokens - actual))
        }),
      tryReserve: (keys, tokens) => run(reserveScript, keys, tokens),
      block: (key, ms) => Effect.asVoid(run(blockScript, [key], ms))
    }
    return limiter
  })

/** A `Backend` keeping every limiter's buckets in Redis. */
export const layerRedis = (options: RedisOptions = {}): Layer.Layer<Backend, never, Redis.Redis> =>
  Layer.effect(
    Backend,
    Effect.map(Redis.Redis, (redis) =>
      Backend.of({ make: (limits) => Effect.provideService(makeRedis(limits, options), Redis.Redis, redis) }))
  )
