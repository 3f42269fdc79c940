import { assert, describe, it } from "@effect/vitest"
import { Retry } from "@gleitzeit/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"

const policy = (fields: Partial<typeof Retry.RetryPolicy.Type>): Retry.RetryPolicy =>
  new Retry.RetryPolicy({ ...Retry.defaultPolicy, jitter: false, ...fields })

/**
 * Drives the policy's schedule step by step on the TestClock: each step must still be sleeping 1 ms before its
 * delay and done exactly at it; after the listed delays the schedule must be exhausted.
 */
const expectDelays = (retry: Retry.RetryPolicy, delays: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const driver = yield* Schedule.driver(Retry.toSchedule(retry))
    for (const [i, delay] of delays.entries()) {
      const step = yield* Effect.fork(driver.next(undefined))
      if (delay > 0) {
        yield* TestClock.adjust(Duration.millis(delay - 1))
        assert.isTrue(Option.isNone(yield* Fiber.poll(step)), `retry ${i + 1} came before ${delay} ms`)
        yield* TestClock.adjust(Duration.millis(1))
      }
      // The schedule outputs how many retries came before this one.
      assert.strictEqual(yield* Fiber.join(step), i, `retry ${i + 1} did not come at ${delay} ms`)
    }
    const exhausted = yield* Effect.either(driver.next(undefined))
    assert.isTrue(Either.isLeft(exhausted), `the schedule allowed more than ${delays.length} retries`)
  })

/** Runs an always-failing effect under the policy, returning the clock time of every attempt. */
const attemptTimes = (retry: Retry.RetryPolicy, seed?: number) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const attempt = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      times.push(now)
      return Effect.fail("boom" as const)
    })
    const retried = Effect.retry(attempt, Retry.toSchedule(retry))
    const fiber = yield* Effect.fork(seed === undefined ? retried : Effect.withRandom(retried, Random.make(seed)))
    yield* TestClock.adjust(Duration.hours(1))
    const exit = yield* Fiber.await(fiber)
    assert.deepStrictEqual(exit, Exit.fail("boom"))
    return times
  })

const gaps = (times: ReadonlyArray<number>): Array<number> => times.slice(1).map((t, i) => t - times[i]!)

describe("Retry.delayOf", () => {
  it("computes fixed, linear and exponential delays", () => {
    const base = { baseDelayMs: 100, maxDelayMs: 10_000 }
    const of = (backoff: Retry.Backoff) => [1, 2, 3, 4].map((n) => Retry.delayOf(policy({ ...base, backoff }), n))
    assert.deepStrictEqual(of("fixed"), [100, 100, 100, 100])
    assert.deepStrictEqual(of("linear"), [100, 200, 300, 400])
    assert.deepStrictEqual(of("exponential"), [100, 200, 400, 800])
  })

  it("caps every delay at maxDelayMs", () => {
    const retry = policy({ backoff: "exponential", baseDelayMs: 1000, maxDelayMs: 5000 })
    assert.deepStrictEqual([1, 2, 3, 4, 5].map((n) => Retry.delayOf(retry, n)), [1000, 2000, 4000, 5000, 5000])
  })
})

describe("Retry.toSchedule", () => {
  it.effect("waits the same delay before every retry with fixed backoff", () =>
    expectDelays(policy({ maxAttempts: 4, backoff: "fixed", baseDelayMs: 1500 }), [1500, 1500, 1500]))

  it.effect("grows the delay by the base each retry with linear backoff", () =>
    expectDelays(policy({ maxAttempts: 5, backoff: "linear", baseDelayMs: 1000 }), [1000, 2000, 3000, 4000]))

  it.effect("doubles the delay each retry with exponential backoff", () =>
    expectDelays(policy({ maxAttempts: 5, backoff: "exponential", baseDelayMs: 500 }), [500, 1000, 2000, 4000]))

  it.effect("caps exponential delays at max_delay", () =>
    expectDelays(
      policy({ maxAttempts: 7, backoff: "exponential", baseDelayMs: 1000, maxDelayMs: 5000 }),
      [1000, 2000, 4000, 5000, 5000, 5000]
    ))

  it.effect("caps linear delays at max_delay", () =>
    expectDelays(
      policy({ maxAttempts: 5, backoff: "linear", baseDelayMs: 2000, maxDelayMs: 5000 }),
      [2000, 4000, 5000, 5000]
    ))

  it.effect("agrees with delayOf for every retry of every backoff", () =>
    Effect.gen(function*() {
      for (const backoff of ["fixed", "linear", "exponential"] as const) {
        const retry = policy({ maxAttempts: 10, backoff, baseDelayMs: 300, maxDelayMs: 20_000 })
        yield* expectDelays(retry, Array.from({ length: 9 }, (_, i) => Retry.delayOf(retry, i + 1)))
      }
    }))

  it.effect("retries immediately when the base delay is 0", () =>
    expectDelays(policy({ maxAttempts: 3, backoff: "exponential", baseDelayMs: 0, maxDelayMs: 0 }), [0, 0]))

  it.effect("never retries when max_attempts is 1", () => expectDelays(Retry.never, []))

  it.effect("makes exactly max_attempts attempts of a failing effect under Effect.retry", () =>
    Effect.gen(function*() {
      for (const maxAttempts of [1, 2, 3, 10]) {
        const times = yield* attemptTimes(policy({ maxAttempts, backoff: "fixed", baseDelayMs: 100 }))
        assert.strictEqual(times.length, maxAttempts)
      }
    }))

  it.effect("spaces the attempts of Effect.retry by the policy's delays", () =>
    Effect.gen(function*() {
      const times = yield* attemptTimes(policy({ maxAttempts: 4, backoff: "exponential", baseDelayMs: 1000 }))
      assert.deepStrictEqual(times, [0, 1000, 3000, 7000])
    }))

  it.effect("stops retrying as soon as an attempt succeeds", () =>
    Effect.gen(function*() {
      let attempts = 0
      const flaky = Effect.suspend(() => ++attempts < 3 ? Effect.fail("not yet") : Effect.succeed("done"))
      const fiber = yield* Effect.fork(
        Effect.retry(flaky, Retry.toSchedule(policy({ maxAttempts: 10, backoff: "fixed", baseDelayMs: 10 })))
      )
      yield* TestClock.adjust(Duration.seconds(10))
      assert.strictEqual(yield* Fiber.join(fiber), "done")
      assert.strictEqual(attempts, 3)
    }))

  it.effect("does not retry before the first delay has passed", () =>
    Effect.gen(function*() {
      let attempts = 0
      const failing = Effect.suspend(() => {
        attempts++
        return Effect.fail("boom")
      })
      const fiber = yield* Effect.fork(
        Effect.retry(failing, Retry.toSchedule(policy({ maxAttempts: 3, backoff: "fixed", baseDelayMs: 2000 })))
      )
      yield* TestClock.adjust(Duration.millis(1999))
      assert.strictEqual(attempts, 1)
      yield* TestClock.adjust(Duration.millis(1))
      assert.strictEqual(attempts, 2)
      yield* TestClock.adjust(Duration.millis(2000))
      assert.strictEqual(attempts, 3)
      assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail("boom"))
    }))

  it.effect("jitters each capped delay between 80% and 120% of itself, never above the cap", () =>
    Effect.gen(function*() {
      const retry = policy({
        maxAttempts: 7,
        backoff: "exponential",
        baseDelayMs: 1000,
        maxDelayMs: 10_000,
        jitter: true
      })
      const seen = new Set<number>()
      for (let seed = 1; seed <= 25; seed++) {
        const delays = gaps(yield* attemptTimes(retry, seed))
        assert.strictEqual(delays.length, 6)
        for (const [i, delay] of delays.entries()) {
          const nominal = Retry.delayOf(retry, i + 1)
          assert.isAtLeast(delay, 0.8 * nominal - 1e-6, `retry ${i + 1}, seed ${seed}`)
          assert.isAtMost(delay, Math.min(1.2 * nominal, retry.maxDelayMs) + 1e-6, `retry ${i + 1}, seed ${seed}`)
          if (i === 0) seen.add(Math.round(delay))
        }
      }
      assert.isAbove(seen.size, 5, "jitter should vary the delays")
    }))

  it.effect("jitters a delay at the cap only downwards, to between 80% and 100% of the cap", () =>
    Effect.gen(function*() {
      const retry = policy({ maxAttempts: 4, backoff: "fixed", baseDelayMs: 1000, maxDelayMs: 1000, jitter: true })
      for (let seed = 1; seed <= 10; seed++) {
        for (const delay of gaps(yield* attemptTimes(retry, seed))) {
          assert.isAtLeast(delay, 800 - 1e-6)
          assert.isAtMost(delay, 1000 + 1e-6)
        }
      }
    }))

  it.effect("uses no randomness without jitter", () =>
    Effect.gen(function*() {
      const retry = policy({ maxAttempts: 4, backoff: "linear", baseDelayMs: 250 })
      assert.deepStrictEqual(gaps(yield* attemptTimes(retry, 1)), [250, 500, 750])
      assert.deepStrictEqual(gaps(yield* attemptTimes(retry, 2)), [250, 500, 750])
    }))
})

describe("Retry.RetryPolicy", () => {
  it("has the documented default and never policies", () => {
    assert.deepStrictEqual(
      { ...Retry.defaultPolicy },
      { maxAttempts: 3, backoff: "exponential", baseDelayMs: 1000, maxDelayMs: 30_000, jitter: true }
    )
    assert.strictEqual(Retry.never.maxAttempts, 1)
  })

  it("accepts 1 to 10 attempts only", () => {
    const decode = Schema.decodeUnknownEither(Retry.RetryPolicy)
    const fields = { backoff: "fixed", baseDelayMs: 0, maxDelayMs: 0, jitter: false }
    assert.isTrue(Either.isRight(decode({ ...fields, maxAttempts: 1 })))
    assert.isTrue(Either.isRight(decode({ ...fields, maxAttempts: 10 })))
    assert.isTrue(Either.isLeft(decode({ ...fields, maxAttempts: 0 })))
    assert.isTrue(Either.isLeft(decode({ ...fields, maxAttempts: 11 })))
    assert.isTrue(Either.isLeft(decode({ ...fields, maxAttempts: 2.5 })))
    assert.isTrue(Either.isLeft(decode({ ...fields, maxAttempts: 3, backoff: "random" })))
    assert.isTrue(Either.isLeft(decode({ ...fields, maxAttempts: 3, baseDelayMs: -1 })))
  })

  it("survives a JSON round trip", () => {
    const retry = policy({ maxAttempts: 4, backoff: "linear", baseDelayMs: 250, maxDelayMs: 900, jitter: true })
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(Retry.RetryPolicy)(retry)))
    assert.deepStrictEqual(Schema.decodeUnknownSync(Retry.RetryPolicy)(json), retry)
  })
})
