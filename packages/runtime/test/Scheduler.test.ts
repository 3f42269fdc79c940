import { assert, describe, it } from "@effect/vitest"
import { Scheduler } from "@gleitzeit/runtime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { eventually } from "./helpers.js"

/** Waits until the scheduler has `n` waiters. */
const waiters = (scheduler: Scheduler.Scheduler["Type"], n: number) =>
  eventually(`${n} waiting`, Effect.sync(() => scheduler.waiting()), (waiting) => waiting >= n)

/** Waits until the scheduler runs `n` jobs. */
const running = (scheduler: Scheduler.Scheduler["Type"], n: number) =>
  eventually(`${n} running`, Effect.sync(() => scheduler.running()), (count) => count >= n)

describe("Scheduler", () => {
  it.effect("admits up to the limit at once, then waiters by priority, then by arrival", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler.make(2)
      const order: Array<string> = []
      const gate = yield* Deferred.make<void>()
      const job = (name: string, priority: number, wait = false) =>
        scheduler.admit(
          priority,
          Effect.zipRight(Effect.sync(() => order.push(name)), wait ? Deferred.await(gate) : Effect.void)
        )
      const first = yield* Effect.fork(job("first", 0, true))
      const second = yield* Effect.fork(job("second", 0, true))
      yield* running(scheduler, 2)
      const rest = [
        yield* Effect.fork(job("low", 0)),
        yield* Effect.fork(job("high-1", 2)),
        yield* Effect.fork(job("normal", 1)),
        yield* Effect.fork(job("high-2", 2))
      ]
      yield* waiters(scheduler, 4)
      assert.strictEqual(scheduler.running(), 2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll([first, second, ...rest])
      assert.deepStrictEqual(order, ["first", "second", "high-1", "high-2", "normal", "low"])
      assert.strictEqual(scheduler.running(), 0)
      assert.strictEqual(scheduler.waiting(), 0)
    }))

  it.effect("an interrupted waiter gives up its place and a finished or interrupted job its slot", () =>
    Effect.gen(function*() {
      const scheduler = yield* Scheduler.make(1)
      const gate = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(scheduler.admit(0, Deferred.await(gate)))
      yield* running(scheduler, 1)
      const ran: Array<string> = []
      const waiting = yield* Effect.fork(scheduler.admit(5, Effect.sync(() => ran.push("withdrawn"))))
      yield* waiters(scheduler, 1)
      yield* Fiber.interrupt(waiting)
      assert.strictEqual(scheduler.waiting(), 0)
      yield* Fiber.interrupt(holder)
      assert.strictEqual(scheduler.running(), 0)
      yield* scheduler.admit(0, Effect.sync(() => ran.push("next")))
      assert.deepStrictEqual(ran, ["next"])
      const failed = yield* Effect.exit(scheduler.admit(0, Effect.fail("nope")))
      assert.strictEqual(failed._tag, "Failure")
      assert.strictEqual(scheduler.running(), 0)
    }))
})
