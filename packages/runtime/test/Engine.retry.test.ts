import { assert, describe, it } from "@effect/vitest"
import type { Event } from "@gleitzeit/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { errorTag, isEvent, nextEvent, reasonTag, setup, tasksById, whenSleeping, workflow } from "./helpers.js"

const flaky = (reason: string, failures: number | undefined, retry: Record<string, unknown>) => ({
  id: "flaky",
  method: "fn/fail",
  params: { key: "flaky", reason, ...(failures === undefined ? {} : { failures }) },
  retry
})

describe("Engine retries", () => {
  it.scoped("retries a retryable failure with exponential backoff: attempts at 0 s, 1 s and 3 s, each journaled", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "backoff",
        tasks: [flaky("Unavailable", 2, { max_attempts: 3, backoff: "exponential", base_delay: 1, jitter: false })]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("flaky", 1)
      yield* whenSleeping(1)
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(probe.count("flaky"), 1)
      yield* TestClock.adjust("1 millis")
      yield* probe.started("flaky", 2)
      yield* whenSleeping(1)
      yield* TestClock.adjust("1999 millis")
      assert.strictEqual(probe.count("flaky"), 2)
      yield* TestClock.adjust("1 millis")
      yield* probe.started("flaky", 3)
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")

      assert.deepStrictEqual(probe.calls.map((c) => [c.attempt, c.at]), [[1, 0], [2, 1000], [3, 3000]])
      const attempts = yield* runtime.journal.attempts(runId)
      assert.deepStrictEqual(
        attempts.map((a) => [a.attempt, a.status, a.startedAt]),
        [[1, "failed", 0], [2, "failed", 1000], [3, "completed", 3000]]
      )
      assert.deepStrictEqual(attempts.map((a) => reasonTag(a.error)), ["Unavailable", "Unavailable", undefined])
      assert.deepStrictEqual(attempts.map((a) => a.idempotencyKey), Array(3).fill(`${runId}/flaky`))
      const retries = (yield* runtime.journal.events(runId)).filter(
        (e): e is Extract<Event.Event, { _tag: "TaskAttemptFailed" }> => e._tag === "TaskAttemptFailed"
      )
      assert.deepStrictEqual(retries.map((e) => [e.attempt, e.retryInMs]), [[1, 1000], [2, 2000]])
      const task = (yield* tasksById(runtime, runId)).get("flaky")!
      assert.strictEqual(task.status, "completed")
      assert.strictEqual(task.attempts, 3)
      assert.deepStrictEqual(task.result, { calls: 3 })
    }))

  it.scoped("linear backoff waits base, 2×base, … capped at max_delay", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "linear",
        tasks: [flaky("Http503", 3, { max_attempts: 4, backoff: "linear", base_delay: 2, max_delay: 5, jitter: false })]
      })
      const runId = yield* runtime.engine.submit(wf)
      for (const [n, delay] of [[1, 2000], [2, 4000], [3, 5000]] as const) {
        yield* probe.started("flaky", n)
        yield* whenSleeping(1)
        yield* TestClock.adjust(delay)
      }
      yield* probe.started("flaky", 4)
      assert.strictEqual((yield* runtime.engine.wait(runId)).status, "completed")
      assert.deepStrictEqual(probe.calls.map((c) => c.at), [0, 2000, 6000, 11000])
    }))

  it.scoped("stops after max_attempts and fails the task with the last error", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "exhausted",
        tasks: [flaky("Timeout", undefined, { max_attempts: 4, backoff: "fixed", base_delay: 0, jitter: false })]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(probe.count("flaky"), 4)
      const attempts = yield* runtime.journal.attempts(outcome.runId)
      assert.deepStrictEqual(attempts.map((a) => [a.attempt, a.status]), [
        [1, "failed"],
        [2, "failed"],
        [3, "failed"],
        [4, "failed"]
      ])
      const task = (yield* tasksById(runtime, outcome.runId)).get("flaky")!
      assert.strictEqual(task.status, "failed")
      assert.strictEqual(task.attempts, 4)
      assert.strictEqual(reasonTag(task.error), "Timeout")
      const failed = (yield* runtime.journal.events(outcome.runId)).filter((e) => e._tag === "TaskFailed")
      assert.deepStrictEqual(failed.map((e) => "attempt" in e ? e.attempt : 0), [4])
    }))

  for (const reason of ["ExecutionFailed", "InvalidParams", "NotFound", "Http404"]) {
    it.scoped(`does not retry a non-retryable failure (${reason})`, () =>
      Effect.gen(function*() {
        const { probe, runtime } = yield* setup()
        const wf = yield* workflow(runtime, {
          name: "not-retried",
          tasks: [flaky(reason, undefined, { max_attempts: 5, backoff: "fixed", base_delay: 0, jitter: false })]
        })
        const outcome = yield* runtime.engine.execute(wf)
        assert.strictEqual(outcome.status, "failed")
        assert.strictEqual(probe.count("flaky"), 1)
        const attempts = yield* runtime.journal.attempts(outcome.runId)
        assert.deepStrictEqual(attempts.map((a) => [a.attempt, a.status]), [[1, "failed"]])
        const task = (yield* tasksById(runtime, outcome.runId)).get("flaky")!
        assert.strictEqual(errorTag(task.error), "ProviderError")
        assert.strictEqual(reasonTag(task.error), reason === "Http404" ? "HttpStatus" : reason)
        const retried = (yield* runtime.journal.events(outcome.runId)).filter((e) => e._tag === "TaskAttemptFailed")
        assert.strictEqual(retried.length, 0)
      }))
  }

  it.scoped("retries a 5xx HttpStatus failure", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "5xx",
        tasks: [flaky("Http503", 1, { max_attempts: 3, backoff: "fixed", base_delay: 0, jitter: false })]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.strictEqual(probe.count("flaky"), 2)
    }))

  it.scoped("jitter keeps each delay within 80–120% of the backoff and never above max_delay", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "jitter",
        tasks: [
          flaky("Unavailable", 3, {
            max_attempts: 4,
            backoff: "exponential",
            base_delay: 1,
            max_delay: 3,
            jitter: true
          })
        ]
      })
      const events = yield* runtime.bus.subscribe
      const runId = yield* runtime.engine.submit(wf)
      const delays: Array<number> = []
      for (let n = 1; n <= 3; n++) {
        const failed = yield* nextEvent(events, isEvent("TaskAttemptFailed", "flaky"))
        assert.strictEqual(failed._tag === "TaskAttemptFailed" ? failed.attempt : 0, n)
        const delay = failed._tag === "TaskAttemptFailed" ? failed.retryInMs : 0
        delays.push(delay)
        yield* whenSleeping(1)
        // Exactly the jittered delay: the next attempt starts then.
        yield* TestClock.adjust(Duration.millis(delay))
      }
      assert.strictEqual((yield* runtime.engine.wait(runId)).status, "completed")
      const [first, second, third] = delays as [number, number, number]
      // Delays are fractional milliseconds (interval start minus now): allow for floating-point rounding.
      const within = (delay: number, min: number, max: number) => {
        assert.isAtLeast(delay, min - 1e-6)
        assert.isAtMost(delay, max + 1e-6)
      }
      within(first, 800, 1200)
      within(second, 1600, 2400)
      within(third, 2400, 3000)
      assert.deepStrictEqual(probe.calls.map((c) => c.at), [0, first, first + second, first + second + third])
    }))
})
