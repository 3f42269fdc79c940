import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { join } from "node:path"
import {
  assertStatuses,
  isEvent,
  makeProbe,
  makeRuntime,
  nextEvent,
  type Probe,
  type Runtime,
  tasksById,
  tempDir,
  workflow
} from "./helpers.js"

/**
 * Runs `until` against a runtime on `filename` that is then shut down as if its process died: the engine's scope
 * closes while tasks are still running, so nothing more is journaled for them.
 */
const firstProcess = <A>(
  filename: string,
  probe: Probe,
  until: (runtime: Runtime) => Effect.Effect<A>
): Effect.Effect<A> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const runtime = yield* Scope.extend(makeRuntime({ filename, functions: probe.functions }), scope)
    const result = yield* until(runtime)
    yield* Scope.close(scope, Exit.void)
    return result
  })

describe("Engine resume", () => {
  it.scoped("resumes a dead process's run: completed tasks are not re-run, the interrupted attempt reruns", () =>
    Effect.gen(function*() {
      const filename = join(yield* tempDir, "journal.db")
      const probe = yield* makeProbe
      const doc = {
        name: "crash",
        tasks: [
          { id: "a", method: "fn/work", params: { key: "a", value: { n: 1 } } },
          { id: "b", method: "fn/work", params: { key: "b", wait: "b", value: { n: "${a.n}" } } },
          { id: "c", method: "fn/work", params: { key: "c", value: ["${a.n}", "${b.n}"] } }
        ]
      }
      const runId = yield* firstProcess(filename, probe, (runtime) =>
        Effect.scoped(Effect.gen(function*() {
          const events = yield* runtime.bus.subscribe
          const runId = yield* runtime.engine.submit(yield* workflow(runtime, doc))
          // `b` is durably running (its start is journaled) when the process dies.
          yield* nextEvent(events, isEvent("TaskStarted", "b"))
          yield* probe.started("b")
          return runId
        })))
      assert.deepStrictEqual(probe.interrupted, ["b"])
      assert.deepStrictEqual(probe.order(), ["a", "b"])

      const runtime = yield* makeRuntime({ filename, functions: probe.functions })
      // What the dead process left behind.
      const left = Option.getOrThrow(yield* runtime.journal.run(runId))
      assert.strictEqual(left.status, "running")
      yield* assertStatuses(runtime, runId, { a: "completed", b: "running", c: "pending" })
      assert.deepStrictEqual((yield* runtime.journal.unfinished).map((r) => r.id), [runId])

      yield* probe.open("b")
      yield* runtime.engine.resume(runId)
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")
      assert.strictEqual(probe.count("a"), 1)
      assert.strictEqual(probe.count("b"), 2)
      assert.strictEqual(probe.count("c"), 1)
      assert.deepStrictEqual(probe.calls.filter((c) => c.key === "b").map((c) => c.attempt), [1, 1])
      // The resumed attempt sees the result `a` produced before the crash.
      assert.deepStrictEqual(probe.calls.find((c) => c.key === "c")!.params, { key: "c", value: [1, 1] })
      const tasks = yield* tasksById(runtime, runId)
      assert.deepStrictEqual(tasks.get("c")!.result, [1, 1])
      assert.deepStrictEqual(
        (yield* runtime.journal.attempts(runId)).map((a) => [a.taskId, a.attempt, a.status]),
        [["a", 1, "completed"], ["b", 1, "completed"], ["c", 1, "completed"]]
      )
      const events = yield* runtime.journal.events(runId)
      assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))
      const starts = events.filter((e) => e._tag === "RunStarted").map((e) => e._tag === "RunStarted" && e.resumed)
      assert.deepStrictEqual(starts, [false, true])
    }))

  it.scoped("recover resumes every unfinished run of the journal", () =>
    Effect.gen(function*() {
      const filename = join(yield* tempDir, "journal.db")
      const probe = yield* makeProbe
      const runIds = yield* firstProcess(filename, probe, (runtime) =>
        Effect.gen(function*() {
          const ids: Array<string> = []
          for (const name of ["one", "two"]) {
            const wf = yield* workflow(runtime, {
              name,
              tasks: [{ method: "fn/work", params: { key: name, wait: "go" } }]
            })
            ids.push(yield* runtime.engine.submit(wf))
          }
          yield* probe.started("one")
          yield* probe.started("two")
          return ids
        }))
      const runtime = yield* makeRuntime({ filename, functions: probe.functions })
      yield* probe.open("go")
      const recovered = yield* runtime.engine.recover
      assert.deepStrictEqual([...recovered].sort(), [...runIds].sort())
      for (const runId of runIds) assert.strictEqual((yield* runtime.engine.wait(runId)).status, "completed")
      assert.deepStrictEqual(yield* runtime.journal.unfinished, [])
    }))

  it.scoped("a resumed task keeps its attempt count: max_attempts holds across the crash", () =>
    Effect.gen(function*() {
      const filename = join(yield* tempDir, "journal.db")
      const probe = yield* makeProbe
      const doc = {
        name: "retry-crash",
        tasks: [{
          id: "flaky",
          method: "fn/fail",
          // Attempt 1 fails; attempt 2 hangs until the process dies.
          params: { key: "flaky", reason: "Unavailable", wait: "hold", waitFrom: 2 },
          retry: { max_attempts: 3, backoff: "fixed", base_delay: 0, jitter: false }
        }]
      }
      const runId = yield* firstProcess(filename, probe, (runtime) =>
        Effect.scoped(Effect.gen(function*() {
          const events = yield* runtime.bus.subscribe
          const runId = yield* runtime.engine.submit(yield* workflow(runtime, doc))
          yield* nextEvent(events, (e) => e._tag === "TaskStarted" && e.taskId === "flaky" && e.attempt === 2)
          yield* probe.started("flaky", 2)
          return runId
        })))
      const runtime = yield* makeRuntime({ filename, functions: probe.functions })
      yield* probe.open("hold")
      yield* runtime.engine.resume(runId)
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "failed")
      // Attempt 2 runs again (same number), then attempt 3 is the last one.
      assert.deepStrictEqual(probe.calls.map((c) => c.attempt), [1, 2, 2, 3])
      assert.deepStrictEqual(
        (yield* runtime.journal.attempts(runId)).map((a) => [a.attempt, a.status]),
        [[1, "failed"], [2, "failed"], [3, "failed"]]
      )
      assert.strictEqual((yield* tasksById(runtime, runId)).get("flaky")!.attempts, 3)
    }))

  it.scoped("a crash while waiting to retry resumes with the next attempt, keeping the failed one's record", () =>
    Effect.gen(function*() {
      const filename = join(yield* tempDir, "journal.db")
      const probe = yield* makeProbe
      const doc = {
        name: "retry-wait-crash",
        tasks: [{
          id: "flaky",
          method: "fn/fail",
          params: { key: "flaky", reason: "Unavailable" },
          retry: { max_attempts: 2, backoff: "fixed", base_delay: 3600, jitter: false }
        }]
      }
      const runId = yield* firstProcess(filename, probe, (runtime) =>
        Effect.scoped(Effect.gen(function*() {
          const events = yield* runtime.bus.subscribe
          const runId = yield* runtime.engine.submit(yield* workflow(runtime, doc))
          // Attempt 1 failed; the process dies during the hour-long wait before attempt 2.
          yield* nextEvent(events, (e) => e._tag === "TaskAttemptFailed" && e.taskId === "flaky" && e.attempt === 1)
          return runId
        })))
      const runtime = yield* makeRuntime({ filename, functions: probe.functions })
      yield* runtime.engine.resume(runId)
      const outcome = yield* runtime.engine.wait(runId)
      assert.strictEqual(outcome.status, "failed")
      assert.deepStrictEqual(probe.calls.map((c) => c.attempt), [1, 2])
      const attempts = yield* runtime.journal.attempts(runId)
      assert.deepStrictEqual(attempts.map((a) => [a.attempt, a.status]), [[1, "failed"], [2, "failed"]])
      assert.isDefined(attempts[0]!.error)
    }))

  it.scoped("resume of an ended run or a live one is InvalidRunState; of an unknown run RunNotFound", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      const runtime = yield* makeRuntime({ functions: probe.functions })
      const wf = yield* workflow(runtime, { name: "done", tasks: [{ method: "fn/work", params: { key: "x" } }] })
      const outcome = yield* runtime.engine.execute(wf)
      const ended = yield* Effect.flip(runtime.engine.resume(outcome.runId))
      assert.strictEqual(ended._tag, "InvalidRunState")
      assert.strictEqual(ended._tag === "InvalidRunState" ? ended.status : "", "completed")
      const unknown = yield* Effect.flip(runtime.engine.resume("no-such-run"))
      assert.strictEqual(unknown._tag, "RunNotFound")
      const running = yield* workflow(runtime, {
        name: "live",
        tasks: [{ method: "fn/work", params: { key: "y", wait: "y" } }]
      })
      const runId = yield* runtime.engine.submit(running)
      yield* probe.started("y")
      const live = yield* Effect.flip(runtime.engine.resume(runId))
      assert.strictEqual(live._tag, "InvalidRunState")
      assert.strictEqual(probe.count("y"), 1)
      yield* probe.open("y")
      assert.strictEqual((yield* runtime.engine.wait(runId)).status, "completed")
    }))

  it.scoped("cancel of a run whose process died cancels it in the journal without running anything", () =>
    Effect.gen(function*() {
      const filename = join(yield* tempDir, "journal.db")
      const probe = yield* makeProbe
      const runId = yield* firstProcess(filename, probe, (runtime) =>
        Effect.scoped(Effect.gen(function*() {
          const events = yield* runtime.bus.subscribe
          const runId = yield* runtime.engine.submit(
            yield* workflow(runtime, {
              name: "orphan",
              tasks: [
                { id: "a", method: "fn/work", params: { key: "a" } },
                { id: "b", method: "fn/work", params: { key: "b", wait: "never" }, dependencies: ["a"] },
                { id: "c", method: "fn/work", params: { key: "c" }, dependencies: ["b"] }
              ]
            })
          )
          yield* nextEvent(events, isEvent("TaskStarted", "b"))
          return runId
        })))
      const runtime = yield* makeRuntime({ filename, functions: probe.functions })
      const outcome = yield* runtime.engine.cancel(runId, "abandoned")
      assert.strictEqual(outcome.status, "cancelled")
      assert.deepStrictEqual(probe.order(), ["a", "b"])
      yield* assertStatuses(runtime, runId, { a: "completed", b: "cancelled", c: "cancelled" })
      const run = Option.getOrThrow(yield* runtime.journal.run(runId))
      assert.strictEqual(run.status, "cancelled")
      assert.strictEqual(run.error?.message, "abandoned")
      assert.deepStrictEqual(
        (yield* runtime.journal.attempts(runId)).map((a) => [a.taskId, a.status]),
        [["a", "completed"], ["b", "cancelled"]]
      )
      assert.strictEqual((yield* runtime.engine.wait(runId)).status, "cancelled")
      const events = yield* runtime.journal.events(runId)
      assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))
    }))
})
