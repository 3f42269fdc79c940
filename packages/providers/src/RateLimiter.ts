/**
 * Token-aware rate limits (requests per minute and tokens per minute) per key, e.g. `model:llama3` and
 * `endpoint:gpu-1`. A call reserves one request and its estimated tokens on every key it touches, waiting until all
 * buckets have room; afterwards it settles with the tokens it really used (the difference is refunded or charged
 * as debt). A `429` blocks a key for its `retry-after`. Checking and taking is one synchronous step, so calls on
 * independent keys never wait for each other. Time is Effect's `Clock`, so `TestClock` drives the waits.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

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
    const take = (keys: ReadonlyArray<string>, tokens: number): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const selected = keys.map(bucketOf)
        let wait = 0
        for (const bucket of selected) {
          refill(bucket, now)
          wait = Math.max(wait, waitFor(bucket, tokens, now))
        }
        // Re-check at least every second, so refunds from settled calls are picked up early.
        if (wait > 0) return Effect.zipRight(Effect.sleep(Math.min(wait, 1000)), take(keys, tokens))
        for (const bucket of selected) {
          if (bucket.limit.requestsPerMinute !== undefined) bucket.requests -= 1
          if (bucket.limit.tokensPerMinute !== undefined) bucket.tokens -= tokens
        }
        return Effect.void
      })

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
      block: (key, ms) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            const bucket = bucketOf(key)
            bucket.blockedUntil = Math.max(bucket.blockedUntil, now + ms)
          }))
    }
    return limiter
  })
