import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, WorkflowLoader } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { assertStatuses, errorTag, reasonTag, setup, tasksById, workflow } from "./helpers.js"

describe("Engine bad input", () => {
  it.scoped("a method no provider serves at run time fails the task with MethodNotFound", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      // Loaded without a catalog, so nothing checks the method before the run.
      const { workflow: wf } = yield* WorkflowLoader.fromObject({
        name: "unknown-method",
        tasks: [{ id: "ghost", method: "fn/does-not-exist", params: {} }]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.code, ErrorCode.MethodNotFound)
      const ghost = (yield* tasksById(runtime, outcome.runId)).get("ghost")!
      assert.strictEqual(ghost.status, "failed")
      assert.strictEqual(errorTag(ghost.error), "MethodNotFound")
      assert.strictEqual((ghost.error as { method: string }).method, "fn/does-not-exist")
    }))

  it.scoped("params that are invalid after substitution fail the task with InvalidParams before the call", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "bad-params",
        tasks: [
          { id: "text", method: "fn/work", params: { key: "text", value: "not a number" } },
          { id: "typed", method: "fn/typed", params: { n: "${text}" } }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "typed")
      assert.strictEqual(probe.count("typed"), 0)
      const typed = (yield* tasksById(runtime, outcome.runId)).get("typed")!
      assert.strictEqual(errorTag(typed.error), "InvalidParams")
      assert.include((typed.error as { message: string }).message, "fn/typed")
      const retried = (yield* runtime.journal.events(outcome.runId)).filter((e) => e._tag === "TaskAttemptFailed")
      assert.strictEqual(retried.length, 0)
    }))

  it.scoped("valid params after substitution reach the function decoded", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "good-params",
        tasks: [
          { id: "number", method: "fn/work", params: { key: "number", value: 21 } },
          { id: "typed", method: "fn/typed", params: { n: "${number}" } }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.strictEqual((yield* tasksById(runtime, outcome.runId)).get("typed")!.result, 42)
    }))

  it.scoped("a result larger than maxPayloadBytes fails the task with PayloadTooLarge", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup({ maxPayloadBytes: 1000 })
      const wf = yield* workflow(runtime, {
        name: "too-big",
        tasks: [
          { id: "small", method: "fn/big", params: { size: 100 } },
          { id: "big", method: "fn/big", params: { size: 5000 }, dependencies: ["small"] }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "big")
      const tasks = yield* tasksById(runtime, outcome.runId)
      assert.strictEqual(tasks.get("small")!.status, "completed")
      const big = tasks.get("big")!
      assert.strictEqual(big.status, "failed")
      assert.isUndefined(big.result)
      assert.strictEqual(errorTag(big.error), "PayloadTooLarge")
      assert.strictEqual((big.error as { limit: number }).limit, 1000)
      assert.isAbove((big.error as { bytes: number }).bytes, 1000)
    }))

  it.scoped("a defect in a function fails the task with TaskDefect, never completes it", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "defects",
        on_failure: "continue",
        tasks: [
          { id: "dies", method: "fn/die", params: {} },
          { id: "throws", method: "fn/throw", params: {} },
          { id: "after", method: "fn/work", params: { key: "after" }, dependencies: ["dies"] }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(probe.count("after"), 0)
      const tasks = yield* tasksById(runtime, outcome.runId)
      for (const id of ["dies", "throws"]) {
        assert.strictEqual(tasks.get(id)!.status, "failed", id)
        assert.strictEqual(errorTag(tasks.get(id)!.error), "TaskDefect", id)
        assert.isUndefined(tasks.get(id)!.result)
      }
      assert.include((tasks.get("dies")!.error as { message: string }).message, "kaputt")
      // Defects are not retried (default policy: 3 attempts).
      assert.strictEqual(probe.count("die"), 1)
      assert.strictEqual(tasks.get("after")!.status, "skipped")
    }))

  it.scoped("a plain function that throws fails the task with ExecutionFailed, not retried", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, { name: "throws", tasks: [{ id: "t", method: "fn/throwSync", params: {} }] })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(probe.count("throwSync"), 1)
      const t = (yield* tasksById(runtime, outcome.runId)).get("t")!
      assert.strictEqual(t.status, "failed")
      assert.strictEqual(errorTag(t.error), "ProviderError")
      assert.strictEqual(reasonTag(t.error), "ExecutionFailed")
      assert.include((t.error as { message: string }).message, "thrown by a plain function")
    }))

  it.scoped("an attempt that interrupts itself fails the task instead of hanging the run", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "self-interrupt",
        tasks: [
          { id: "quits", method: "fn/selfInterrupt", params: {}, retry: 1 },
          { id: "after", method: "fn/work", params: { key: "after" }, dependencies: ["quits"] }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "quits")
      const quits = (yield* tasksById(runtime, outcome.runId)).get("quits")!
      assert.strictEqual(quits.status, "failed")
      assert.strictEqual(errorTag(quits.error), "TaskDefect")
      assert.include((quits.error as { message: string }).message, "interrupted itself")
      yield* assertStatuses(runtime, outcome.runId, { quits: "failed", after: "cancelled" })
    }))

  it.scoped("wait for an unknown run is RunNotFound; a run submitted under a given id is found by it", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const unknown = yield* Effect.flip(runtime.engine.wait("no-such-run"))
      assert.strictEqual(unknown._tag, "RunNotFound")
      const wf = yield* workflow(runtime, { name: "named", tasks: [{ method: "fn/work", params: { key: "x" } }] })
      const runId = yield* runtime.engine.submit(wf, { runId: "my-run" })
      assert.strictEqual(runId, "my-run")
      assert.strictEqual((yield* runtime.engine.wait("my-run")).status, "completed")
    }))
})
