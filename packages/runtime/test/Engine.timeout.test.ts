import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { assertStatuses, errorTag, setup, tasksById, whenSleeping, workflow } from "./helpers.js"

describe("Engine timeouts", () => {
  it.scoped("a task's timeout interrupts its attempt (the finalizer runs) and fails it with TaskTimeout", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "task-timeout",
        tasks: [
          { id: "stuck", method: "fn/work", params: { key: "stuck", wait: "never" }, timeout: 2, retry: 1 },
          { id: "after", method: "fn/work", params: { key: "after" }, dependencies: ["stuck"] }
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("stuck")
      yield* whenSleeping(1)
      yield* TestClock.adjust("1999 millis")
      assert.deepStrictEqual(probe.interrupted, [])
      yield* TestClock.adjust("1 millis")
      yield* probe.interruptedCall("stuck")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "stuck")
      assert.deepStrictEqual(probe.interrupted, ["stuck"])
      assert.strictEqual(probe.count("after"), 0)
      const stuck = (yield* tasksById(runtime, runId)).get("stuck")!
      assert.strictEqual(stuck.status, "failed")
      assert.strictEqual(errorTag(stuck.error), "TaskTimeout")
      assert.strictEqual((stuck.error as { timeoutMs: number }).timeoutMs, 2000)
      const [attempt] = yield* runtime.journal.attempts(runId)
      assert.strictEqual(attempt!.status, "failed")
      assert.strictEqual(attempt!.finishedAt! - attempt!.startedAt, 2000)
    }))

  it.scoped("a timed-out attempt is retried (TaskTimeout is retryable) and a faster attempt completes", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "timeout-then-ok",
        tasks: [{
          id: "slow",
          method: "fn/fail",
          params: { key: "slow", reason: "Unavailable", failures: 0, wait: "first-only" },
          timeout: 1,
          retry: { max_attempts: 2, backoff: "fixed", base_delay: 0, jitter: false }
        }]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("slow", 1)
      yield* whenSleeping(1)
      // The second attempt must not wait for the gate: open it once the first attempt was interrupted.
      yield* TestClock.adjust("1 second")
      yield* probe.interruptedCall("slow")
      yield* probe.open("first-only")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")
      const attempts = yield* runtime.journal.attempts(runId)
      assert.deepStrictEqual(attempts.map((a) => [a.attempt, a.status]), [[1, "failed"], [2, "completed"]])
      assert.strictEqual(errorTag(attempts[0]!.error), "TaskTimeout")
    }))

  it.scoped("the workflow timeout ends the run as timed_out and interrupts the running attempts", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "deadline",
        timeout: 5,
        tasks: [
          { id: "quick", method: "fn/work", params: { key: "quick" } },
          { id: "a", method: "fn/work", params: { key: "a", wait: "never" }, dependencies: ["quick"] },
          { id: "b", method: "fn/work", params: { key: "b", wait: "never" } },
          { id: "later", method: "fn/work", params: { key: "later" }, dependencies: ["a", "b"] }
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("a")
      yield* probe.started("b")
      yield* whenSleeping(1)
      yield* TestClock.adjust("4999 millis")
      assert.deepStrictEqual(probe.interrupted, [])
      yield* TestClock.adjust("1 millis")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "timed_out")
      assert.include(outcome.error?.message, "5000 ms")
      assert.deepStrictEqual([...probe.interrupted].sort(), ["a", "b"])
      assert.strictEqual(probe.count("later"), 0)
      const run = (yield* runtime.journal.run(runId)).pipe((o) => o._tag === "Some" ? o.value : undefined)!
      assert.strictEqual(run.status, "timed_out")
      assert.strictEqual(run.finishedAt, 5000)
      yield* assertStatuses(runtime, runId, { quick: "completed", a: "cancelled", b: "cancelled", later: "cancelled" })
      const attempts = yield* runtime.journal.attempts(runId)
      assert.deepStrictEqual(
        attempts.map((a) => [a.taskId, a.status]),
        [["a", "cancelled"], ["b", "cancelled"], ["quick", "completed"]]
      )
      const events = yield* runtime.journal.events(runId)
      assert.strictEqual(events[events.length - 1]!._tag, "RunTimedOut")
    }))
})
