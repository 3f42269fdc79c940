import { assert, describe, it } from "@effect/vitest"
import { RateLimiter } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"

const limits = (entries: Record<string, RateLimiter.Limit>) => new Map(Object.entries(entries))

/** Whether a forked reservation is still waiting after the scheduler settled. */
const waiting = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(Effect.yieldNow(), Effect.map(Fiber.poll(fiber), (exit) => exit._tag === "None"))

describe("RateLimiter", () => {
  it.effect("requests per minute: the third request of a 2/min key waits 30 s for a refill", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(limits({ "model:m": { requestsPerMinute: 2 } }))
      yield* limiter.reserve(["model:m"], 0)
      yield* limiter.reserve(["model:m"], 0)
      const third = yield* Effect.fork(limiter.reserve(["model:m"], 0))
      assert.isTrue(yield* waiting(third))
      yield* TestClock.adjust("29 seconds")
      assert.isTrue(yield* waiting(third))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* waiting(third))
    }))

  it.effect("tokens per minute: reservations wait for tokens; settling with less usage refunds the difference", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(limits({ "endpoint:e": { tokensPerMinute: 1000 } }))
      const first = yield* limiter.reserve(["endpoint:e"], 800)
      const second = yield* Effect.fork(limiter.reserve(["endpoint:e"], 500))
      assert.isTrue(yield* waiting(second), "only 200 tokens left")
      yield* first.settle(100)
      assert.isTrue(yield* waiting(second), "the waiter re-checks within a second")
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* waiting(second), "700 refunded tokens were enough")
    }))

  it.effect("using more tokens than reserved is charged as debt that delays the next call", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(limits({ "model:m": { tokensPerMinute: 600 } }))
      const permit = yield* limiter.reserve(["model:m"], 100)
      yield* permit.settle(1100)
      const next = yield* Effect.fork(limiter.reserve(["model:m"], 100))
      yield* TestClock.adjust("59 seconds")
      assert.isTrue(yield* waiting(next), "500 tokens of debt plus 100 need 60 s at 10 tokens/s")
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* waiting(next))
    }))

  it.effect("a block (429 retry-after) holds every call on the key until it ends; other keys are free", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make(limits({}))
      yield* limiter.block("endpoint:a", 2000)
      const blocked = yield* Effect.fork(limiter.reserve(["model:x", "endpoint:a"], 10))
      yield* limiter.reserve(["model:x", "endpoint:b"], 10).pipe(Effect.fork, Effect.flatMap(Fiber.join))
      assert.isTrue(yield* waiting(blocked))
      yield* TestClock.adjust("2 seconds")
      assert.isFalse(yield* waiting(blocked))
    }))
})
