/**
 * Python tasks through the embedded runtime: the Python provider is composed in through `Embedded.layer`'s
 * `providers` option and runs in the local bubblewrap sandbox (the Docker backend has its own suites in
 * packages/providers/test).
 */
import { assert, describe, it } from "@effect/vitest"
import { PythonProvider } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import { assertStatuses, reasonTag, setup, tasksById, workflow } from "./helpers.js"

const python = PythonProvider.layerConfig({ backend: "local" })

describe("Engine with python/execute", () => {
  it.scopedLive("passes a Python result on to a dependent Python task through a reference", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup({ providers: python })
      const wf = yield* workflow(runtime, {
        name: "python chain",
        tasks: [
          { id: "double", method: "python/execute", params: { code: "result = context['x'] * 2", context: { x: 21 } } },
          {
            id: "describe",
            method: "python/execute",
            params: {
              code: "print('got', context['v'])\nresult = {'v': context['v'], 'n': len(context['items'])}",
              context: { v: "${double.result}", items: [1, 2, 3] }
            }
          }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      const described = (yield* tasksById(runtime, outcome.runId)).get("describe")!
      const result = described.result as { result: unknown; stdout: string; exit_code: number }
      assert.deepStrictEqual(result.result, { v: 42, n: 3 })
      assert.strictEqual(result.stdout, "got 42\n")
      assert.strictEqual(result.exit_code, 0)
    }))

  it.scopedLive("a Python exception fails the task once (not retried) with its traceback journaled", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup({ providers: python })
      const wf = yield* workflow(runtime, {
        name: "python failure",
        tasks: [
          {
            id: "boom",
            method: "python/execute",
            params: { code: "settings = {}\nvalue = settings['missing']" },
            retry: { max_attempts: 3, backoff: "fixed", base_delay: 0, jitter: false }
          },
          { id: "after", method: "python/execute", params: { code: "result = 1" }, dependencies: ["boom"] }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      yield* assertStatuses(runtime, outcome.runId, { boom: "failed", after: "cancelled" })
      const boom = (yield* tasksById(runtime, outcome.runId)).get("boom")!
      assert.strictEqual(boom.attempts, 1)
      assert.strictEqual(reasonTag(boom.error), "ExecutionFailed")
      const reason = (boom.error as { reason: { traceback: string } }).reason
      assert.include(reason.traceback, "KeyError: 'missing'")
      assert.include(reason.traceback, "line 2")
    }))
})
