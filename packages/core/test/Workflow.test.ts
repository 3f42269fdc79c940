import { assert, describe, it } from "@effect/vitest"
import { Workflow } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { catalog, load, yaml } from "./helpers.js"

const text = yaml(
  "name: Pipeline",
  "timeout: 60",
  "max_parallel_tasks: 2",
  "on_failure: continue",
  "metadata: { team: research }",
  "providers: { ollama: { strategy: round_robin } }",
  "outputs: { total: \"${sum.result}\" }",
  "tasks:",
  "  - { id: one, name: First, method: mcp/tool.add, params: { a: 1, b: 0 } }",
  "  - { id: two, name: Same, method: mcp/tool.add, params: { a: 2, b: 0 } }",
  "  - { id: three, name: Same, method: mcp/tool.add, params: { a: 3, b: 0 } }",
  "  - id: sum",
  "    method: mcp/tool.add",
  "    timeout: 5",
  "    priority: high",
  "    retry: { max_attempts: 2 }",
  "    params: { a: \"${First.result}\", b: \"${two.result}\" }"
)

describe("Workflow", () => {
  it.effect("finds tasks by id first and by unique name", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(text, { catalog })
      assert.strictEqual(Workflow.taskByRef(workflow, "one")?.id, "one")
      assert.strictEqual(Workflow.taskByRef(workflow, "First")?.id, "one")
      assert.strictEqual(Workflow.taskByRef(workflow, "sum")?.name, "sum")
      assert.isUndefined(Workflow.taskByRef(workflow, "Same"))
      assert.isUndefined(Workflow.taskByRef(workflow, "nobody"))
    }))

  it.effect("lists the direct dependents of a task", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(text, { catalog })
      assert.deepStrictEqual(Workflow.dependentsOf(workflow, "one").map((t) => t.id), ["sum"])
      assert.deepStrictEqual(Workflow.dependentsOf(workflow, "three"), [])
      assert.deepStrictEqual(Workflow.dependentsOf(workflow, "sum"), [])
    }))

  it.effect("survives encode → JSON → decode unchanged", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(text, { catalog })
      const decoded = Workflow.decode(JSON.parse(JSON.stringify(Workflow.encode(workflow))))
      assert.instanceOf(decoded, Workflow.Workflow)
      assert.deepStrictEqual(decoded, workflow)
      assert.strictEqual(decoded.timeoutMs, 60_000)
      assert.strictEqual(decoded.maxParallelTasks, 2)
      assert.strictEqual(decoded.tasks[3]!.timeoutMs, 5000)
      assert.deepStrictEqual(decoded.tasks[3]!.dependencies.map(String), ["one", "two"])
    }))

  it("rejects a journaled workflow with a task that has an empty id", () => {
    assert.throws(() =>
      Workflow.decode({
        id: "w",
        name: "w",
        tasks: [{
          id: "",
          name: "",
          method: "x/y",
          protocol: "x/v1",
          params: {},
          dependencies: [],
          priority: 1,
          retry: { maxAttempts: 1, backoff: "fixed", baseDelayMs: 0, maxDelayMs: 0, jitter: false },
          metadata: {}
        }],
        metadata: {},
        onFailure: "fail_fast",
        outputs: {},
        priority: 1
      })
    )
  })
})
