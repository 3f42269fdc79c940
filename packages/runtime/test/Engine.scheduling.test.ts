import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { eventually, setup, workflow } from "./helpers.js"

const work = (id: string, extra: Record<string, unknown> = {}, params: Record<string, unknown> = {}) => ({
  id,
  method: "fn/work",
  params: { key: id, ...params },
  retry: 1,
  ...extra
})

describe("Engine scheduling", () => {
  it.scoped("starts a task as soon as its own dependencies completed, while a slow sibling branch still runs", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "branches",
        tasks: [
          work("slow", {}, { wait: "slow" }),
          work("fast"),
          work("after-fast", { dependencies: ["fast"] }),
          work("after-slow", { dependencies: ["slow"] })
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("after-fast")
      // The slow branch is still running: its dependent has not started and `slow` has not completed.
      assert.strictEqual(probe.count("after-slow"), 0)
      const slow = (yield* runtime.journal.tasks(runId)).find((t) => t.taskId === "slow")!
      assert.strictEqual(slow.status, "running")
      yield* probe.open("slow")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(probe.order().slice(-1), ["after-slow"])
    }))

  it.scoped("takes ready tasks by priority when the run may only run one at a time (max_parallel_tasks: 1)", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "priorities",
        max_parallel_tasks: 1,
        tasks: [
          work("low", { priority: "low" }),
          work("normal", { priority: "normal" }),
          work("high", { priority: "high" }),
          work("urgent", { priority: "urgent" })
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(probe.order(), ["urgent", "high", "normal", "low"])
      assert.strictEqual(probe.maxRunning, 1)
    }))

  it.scoped("a dependent that becomes ready later overtakes waiting tasks of lower priority", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "late-urgent",
        max_parallel_tasks: 1,
        tasks: [
          work("low-1", { priority: "low" }),
          work("low-2", { priority: "low" }),
          work("gate", { priority: "normal" }, { wait: "gate" }),
          work("urgent", { priority: "urgent", dependencies: ["gate"] })
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("gate")
      yield* probe.open("gate")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(probe.order(), ["gate", "urgent", "low-1", "low-2"])
    }))

  it.scoped("takes waiting attempts of all runs by priority under the global concurrency limit (concurrency: 1)", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup({ concurrency: 1 })
      const blocker = yield* workflow(runtime, { name: "blocker", tasks: [work("blocker", {}, { wait: "blocker" })] })
      const lowRun = yield* workflow(runtime, {
        name: "low",
        tasks: [work("low-a", { priority: "low" }), work("low-b", { priority: "low" })]
      })
      const urgentRun = yield* workflow(runtime, { name: "urgent", tasks: [work("urgent", { priority: "urgent" })] })
      const normalRun = yield* workflow(runtime, { name: "normal", tasks: [work("normal", { priority: "normal" })] })
      const first = yield* runtime.engine.submit(blocker)
      yield* probe.started("blocker")
      // Submitted in the order low, urgent, normal while the only slot is taken.
      const runs = [yield* runtime.engine.submit(lowRun), yield* runtime.engine.submit(urgentRun)]
      runs.push(yield* runtime.engine.submit(normalRun))
      yield* eventually("4 attempts waiting for a slot", Effect.sync(() => runtime.scheduler.waiting()), (n) => n >= 4)
      assert.strictEqual(runtime.scheduler.running(), 1)
      yield* probe.open("blocker")
      for (const runId of [first, ...runs]) {
        assert.strictEqual((yield* runtime.engine.wait(runId)).status, "completed")
      }
      assert.deepStrictEqual(probe.order(), ["blocker", "urgent", "normal", "low-a", "low-b"])
      assert.strictEqual(probe.maxRunning, 1)
    }))

  it.scoped("never runs more tasks of a run at once than max_parallel_tasks", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const ids = Array.from({ length: 8 }, (_, i) => `t${i}`)
      const wf = yield* workflow(runtime, {
        name: "bounded",
        max_parallel_tasks: 3,
        tasks: ids.map((id) => work(id, {}, { wait: "go" }))
      })
      const runId = yield* runtime.engine.submit(wf)
      for (const id of ids.slice(0, 3)) yield* probe.started(id)
      assert.strictEqual(probe.running, 3)
      yield* probe.open("go")
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")
      assert.strictEqual(probe.calls.length, 8)
      assert.strictEqual(probe.maxRunning, 3)
    }))

  it.scoped("never runs more attempts at once across runs than the global concurrency", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup({ concurrency: 4 })
      const runs = yield* Effect.forEach([0, 1, 2], (r) =>
        workflow(runtime, {
          name: `run-${r}`,
          tasks: Array.from({ length: 5 }, (_, i) => work(`r${r}t${i}`, {}, { wait: "go" }))
        }))
      const fiber = yield* Effect.fork(
        Effect.forEach(runs, (wf) => runtime.engine.execute(wf), { concurrency: "unbounded" })
      )
      yield* eventually(
        "4 attempts running and 11 waiting for a slot",
        Effect.sync(() => ({ running: probe.running, waiting: runtime.scheduler.waiting() })),
        ({ running, waiting }) => running >= 4 && waiting >= 11
      )
      assert.strictEqual(runtime.scheduler.running(), 4)
      yield* probe.open("go")
      const outcomes = yield* Fiber.join(fiber)
      assert.deepStrictEqual(outcomes.map((o) => o.status), ["completed", "completed", "completed"])
      assert.strictEqual(probe.calls.length, 15)
      assert.strictEqual(probe.maxRunning, 4)
      assert.strictEqual(runtime.scheduler.running(), 0)
    }))
})
