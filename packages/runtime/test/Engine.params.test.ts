import { assert, describe, it } from "@effect/vitest"
import { ErrorCode } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { assertStatuses, errorTag, setup, tasksById, workflow, workflowYaml, yaml } from "./helpers.js"

describe("Engine parameter substitution", () => {
  it.scoped("passes results along a diamond, keeping the type of whole-value references", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "diamond",
        tasks: [
          {
            id: "source",
            method: "fn/work",
            params: { key: "source", value: { n: 21, tags: ["a", "b"], meta: { ok: true }, title: "Report" } }
          },
          {
            id: "left",
            method: "fn/work",
            params: { key: "left", value: { doubled: "${source.n}", tags: "${source.tags}" } }
          },
          {
            id: "right",
            method: "fn/work",
            params: { key: "right", value: { meta: "${source.meta}", label: "${source.title} #${source.n}" } }
          },
          {
            id: "join",
            method: "fn/echo",
            params: {
              n: "${left.doubled}",
              firstTag: "${left.tags[0]}",
              lastTag: "${left.tags[-1]}",
              ok: "${right.meta.ok}",
              label: "${right.label}",
              all: ["${source.n}", "${right.meta}"]
            }
          }
        ],
        outputs: { joined: "${join}", n: "${join.n}" }
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      const expected = {
        n: 21,
        firstTag: "a",
        lastTag: "b",
        ok: true,
        label: "Report #21",
        all: [21, { ok: true }]
      }
      assert.deepStrictEqual(probe.calls.find((c) => c.key === "echo")!.params, expected)
      assert.deepStrictEqual(outcome.outputs, { joined: expected, n: 21 })
      const tasks = yield* tasksById(runtime, outcome.runId)
      assert.deepStrictEqual(tasks.get("left")!.result, { doubled: 21, tags: ["a", "b"] })
      assert.deepStrictEqual(tasks.get("join")!.result, expected)
    }))

  it.scoped("resolves ${t.response} and ${t.result.response} alike, and ${t.result} when the result has one", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflowYaml(
        runtime,
        yaml(
          "name: result-prefix",
          "tasks:",
          "  - id: greet",
          "    method: mcp/tool.echo",
          "    params: { message: hello }",
          "  - id: sum",
          "    method: mcp/tool.add",
          "    params: { a: 2, b: 3 }",
          "  - id: use",
          "    method: fn/echo",
          "    params:",
          "      short: ${greet.response}",
          "      long: ${greet.result.response}",
          "      sum: ${sum.result}",
          "      sumText: ${sum.response}",
          "      sentence: The sum is ${sum.result}."
        )
      )
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(probe.calls[0]!.params, {
        short: "hello",
        long: "hello",
        sum: 5,
        sumText: "5",
        sentence: "The sum is 5."
      })
    }))

  it.scoped("an unresolved reference at run time fails the task (UnresolvedReference) before its call", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "unresolved",
        tasks: [
          { id: "source", method: "fn/work", params: { key: "source", value: { present: 1 } } },
          { id: "consumer", method: "fn/echo", params: { value: "${source.missing}" } }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.taskId, "consumer")
      assert.include(outcome.error?.message, "${source.missing}")
      assert.strictEqual(probe.count("echo"), 0)
      yield* assertStatuses(runtime, outcome.runId, { source: "completed", consumer: "failed" })
      const consumer = (yield* tasksById(runtime, outcome.runId)).get("consumer")!
      assert.strictEqual(errorTag(consumer.error), "UnresolvedReference")
      assert.strictEqual((consumer.error as { reference: string }).reference, "${source.missing}")
      // The attempt is journaled (started, then failed with the reference error) although no provider was called.
      const attempts = (yield* runtime.journal.attempts(outcome.runId)).filter((a) => a.taskId === "consumer")
      assert.deepStrictEqual(attempts.map((a) => [a.attempt, a.status]), [[1, "failed"]])
      assert.strictEqual(errorTag(attempts[0]!.error), "UnresolvedReference")
    }))

  it.scoped("an out-of-range index is unresolved too and the text is never sent literally", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "index",
        tasks: [
          { id: "list", method: "fn/work", params: { key: "list", value: ["only"] } },
          { id: "consumer", method: "fn/echo", params: { text: "second is ${list[1]}" } }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(probe.count("echo"), 0)
      const consumer = (yield* tasksById(runtime, outcome.runId)).get("consumer")!
      assert.strictEqual(errorTag(consumer.error), "UnresolvedReference")
    }))

  it.scoped("runs the demo tools in a workflow, chaining their results", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflowYaml(
        runtime,
        yaml(
          "name: demo-tools",
          "tasks:",
          "  - id: sum",
          "    method: mcp/tool.add",
          "    params: { a: 2, b: 3 }",
          "  - id: product",
          "    method: mcp/tool.multiply",
          "    params: { a: \"${sum.result}\", b: 4 }",
          "  - id: text",
          "    method: mcp/tool.concat",
          "    params: { strings: [\"(2 + 3) * 4\", \"${product.result}\"], separator: \" = \" }",
          "  - id: say",
          "    method: mcp/tool.echo",
          "    params: { message: \"${text.response}\" }",
          "outputs:",
          "  answer: ${product.result}",
          "  said: ${say.response}"
        )
      )
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(outcome.outputs, { answer: 20, said: "(2 + 3) * 4 = 20" })
      const tasks = yield* tasksById(runtime, outcome.runId)
      assert.deepStrictEqual(tasks.get("sum")!.result, { result: 5, response: "5" })
      assert.deepStrictEqual(tasks.get("product")!.result, { result: 20, response: "20" })
      assert.deepStrictEqual(tasks.get("text")!.result, { response: "(2 + 3) * 4 = 20" })
    }))

  it.scoped("an output that does not resolve fails the run with a ParameterError, though every task completed", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "bad-output",
        tasks: [{ id: "a", method: "fn/work", params: { key: "a", value: { x: 1 } } }],
        outputs: { y: "${a.y}" }
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(outcome.error?.code, ErrorCode.ParameterError)
      assert.include(outcome.error?.message, "${a.y}")
      yield* assertStatuses(runtime, outcome.runId, { a: "completed" })
    }))
})
