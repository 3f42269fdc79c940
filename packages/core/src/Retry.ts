/**
 * Retry policies of tasks and their translation into an Effect `Schedule`.
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/** How the delay between attempts grows. */
export const Backoff = Schema.Literal("fixed", "linear", "exponential")

/** How the delay between attempts grows. */
export type Backoff = typeof Backoff.Type

/** The longest delay a policy may ask for between attempts: one day. */
export const maxDelaySeconds = 24 * 60 * 60

const delayMs = Schema.NonNegative.pipe(Schema.lessThanOrEqualTo(maxDelaySeconds * 1000))

/** A normalized retry policy (delays in milliseconds). */
export class RetryPolicy extends Schema.Class<RetryPolicy>("@gleitzeit/RetryPolicy")({
  maxAttempts: Schema.Int.pipe(Schema.between(1, 10)),
  backoff: Backoff,
  baseDelayMs: delayMs,
  maxDelayMs: delayMs,
  jitter: Schema.Boolean
}) {}

/** The default policy: 3 attempts, exponential from 1 s, capped at 30 s, with jitter. */
export const defaultPolicy = new RetryPolicy({
  maxAttempts: 3,
  backoff: "exponential",
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  jitter: true
})

/** A policy that never retries. */
export const never = new RetryPolicy({ maxAttempts: 1, backoff: "fixed", baseDelayMs: 0, maxDelayMs: 0, jitter: false })

/** The delay before retry number `retry` (1 = the first retry), without jitter. */
export const delayOf = (policy: RetryPolicy, retry: number): number => {
  const raw = policy.backoff === "fixed"
    ? policy.baseDelayMs
    : policy.backoff === "linear"
    ? policy.baseDelayMs * retry
    : policy.baseDelayMs * 2 ** (retry - 1)
  return Math.min(raw, policy.maxDelayMs)
}

/**
 * The policy as a Schedule: it recurs `maxAttempts - 1` times with the policy's delays, capped at `maxDelayMs`,
 * jittered (between 80% and 120%, never above the cap) when asked.
 */
export const toSchedule = (policy: RetryPolicy): Schedule.Schedule<number> => {
  const base = Duration.millis(policy.baseDelayMs)
  const shape: Schedule.Schedule<unknown> = policy.backoff === "fixed"
    ? Schedule.spaced(base)
    : policy.backoff === "linear"
    ? Schedule.linear(base)
    : Schedule.exponential(base, 2)
  const capped = shape.pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.millis(policy.maxDelayMs)))
  )
  const jittered = policy.jitter
    ? capped.pipe(
      Schedule.jittered,
      Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.millis(policy.maxDelayMs)))
    )
    : capped
  return Schedule.intersect(jittered, Schedule.recurs(policy.maxAttempts - 1)).pipe(Schedule.map(([, n]) => n))
}
