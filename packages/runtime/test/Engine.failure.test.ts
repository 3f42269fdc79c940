import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { assertStatuses, errorTag, isEvent, nextEvent, setup, tasksById, workflow } from "./helpers.js"

describe("Engine failure policies", () => {
  it.scoped("fail_fast interrupts running siblings (their finalizers run), cancels the rest and fails the run", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "fail-fast",
        tasks: [
          { id: "slow-1", method: "fn/work", params: { key: "slow-1", wait: "never" } },
          { id: "slow-2", method: "fn/work", params: { key: "slow-2", wait: "never" } },
          // Fails only once both siblings are running.
          { id: "broken", method: "fn/fail", params: { key: "broken", reason: "ExecutionFailed", wait: "fail" } },
          { id: "after", method: "fn/work", params: { key: "after" }, dependencies: ["slow-1"] }
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("slow-1")
      yield* probe.started("slow-2")
      yield* probe.open("fail")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "broken")
      assert.include(outcome.error?.message, "broken")
      assert.deepStrictEqual([...probe.interrupted].sort(), ["slow-1", "slow-2"])
      assert.strictEqual(probe.count("after"), 0)
      yield* assertStatuses(runtime, runId, {
        "slow-1": "cancelled",
        "slow-2": "cancelled",
        broken: "failed",
        after: "cancelled"
      })
      const run = yield* runtime.journal.run(runId)
      assert.strictEqual(run._tag === "Some" ? run.value.status : undefined, "failed")
    }))

  it.scoped("continue skips transitive dependents of a failed task, completes other branches, fails the run", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "continue",
        on_failure: "continue",
        tasks: [
          { id: "broken", method: "fn/fail", params: { key: "broken", reason: "ExecutionFailed" } },
          { id: "child", method: "fn/work", params: { key: "child", value: "${broken.calls}" } },
          { id: "grandchild", method: "fn/work", params: { key: "grandchild" }, dependencies: ["child"] },
          { id: "other", method: "fn/work", params: { key: "other", wait: "other" } },
          { id: "other-child", method: "fn/work", params: { key: "other-child" }, dependencies: ["other"] },
          { id: "mixed", method: "fn/work", params: { key: "mixed" }, dependencies: ["other", "grandchild"] }
        ]
      })
      const events = yield* runtime.bus.subscribe
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("other")
      // The failure is handled (its dependents skipped) while `other` still runs; its branch carries on afterwards.
      yield* nextEvent(events, isEvent("TaskSkipped", "child"))
      yield* probe.open("other")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "broken")
      assert.include(outcome.error?.message, "broken")
      assert.deepStrictEqual(probe.order().sort(), ["broken", "other", "other-child"])
      yield* assertStatuses(runtime, runId, {
        broken: "failed",
        child: "skipped",
        grandchild: "skipped",
        other: "completed",
        "other-child": "completed",
        mixed: "skipped"
      })
      const tasks = yield* tasksById(runtime, runId)
      assert.include((tasks.get("child")!.error as { reason: string }).reason, "'broken' failed")
      assert.include((tasks.get("grandchild")!.error as { reason: string }).reason, "'child' was skipped")
      const skipped = (yield* runtime.journal.events(runId)).filter((e) => e._tag === "TaskSkipped")
      assert.deepStrictEqual(skipped.map((e) => "taskId" in e ? e.taskId : "").sort(), ["child", "grandchild", "mixed"])
      const run = yield* runtime.journal.run(runId)
      assert.strictEqual(run._tag === "Some" ? run.value.status : undefined, "failed")
      assert.strictEqual(run._tag === "Some" ? run.value.error?.taskId : undefined, "broken")
    }))

  it.scoped("continue with two failures names both in the run's error", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "two-failures",
        on_failure: "continue",
        tasks: [
          { id: "first", method: "fn/fail", params: { key: "first", reason: "ExecutionFailed" } },
          { id: "second", method: "fn/fail", params: { key: "second", reason: "InvalidParams" } },
          { id: "fine", method: "fn/work", params: { key: "fine" } }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.include(outcome.error?.message, "2 tasks failed")
      assert.include(outcome.error?.message, "first")
      assert.include(outcome.error?.message, "second")
      yield* assertStatuses(runtime, outcome.runId, { first: "failed", second: "failed", fine: "completed" })
      const tasks = yield* tasksById(runtime, outcome.runId)
      assert.strictEqual(errorTag(tasks.get("second")!.error), "ProviderError")
    }))
})
