import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, Protocol, WorkflowLoader } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { assertAt, catalog, invalid, issueAt, load, positionOf, yaml } from "./helpers.js"

const broken = yaml(
  "name: broken",
  "tasks:",
  "  - id: fetch",
  "    method: http/request",
  "    params:",
  "      url: not a url",
  "  - id: fetch",
  "    method: mcp/tool.echo",
  "    params: { message: hi }",
  "  - id: add",
  "    method: mcp/tool.add",
  "    params:",
  "      a: ${fetch.status}",
  "      b: two",
  "  - id: sum",
  "    method: mcp/tool.sum",
  "  - id: report",
  "    method: mcp/tool.echo",
  "    dependencies: [fetch, nowhere]",
  "    params: { message: done }",
  "  - id: a",
  "    method: mcp/tool.echo",
  "    params: { message: hi }",
  "    dependencies: [b]",
  "  - id: b",
  "    method: mcp/tool.echo",
  "    params: { message: hi }",
  "    dependencies: [c]",
  "  - id: c",
  "    method: mcp/tool.echo",
  "    params: { message: hi }",
  "    dependencies: [a]",
  "  - id: self",
  "    method: mcp/tool.echo",
  "    params: { message: hi }",
  "    dependencies: [self]"
)

describe("WorkflowLoader validation", () => {
  it.effect("reports every problem of a workflow at once", () =>
    Effect.gen(function*() {
      const error = yield* invalid(broken, { catalog, file: "broken.yaml" })
      assert.deepStrictEqual(error.issues.map((i) => i.path).sort(), [
        "tasks[0].params.url",
        "tasks[1].id",
        "tasks[2].params.b",
        "tasks[3].method",
        "tasks[4].dependencies[1]",
        "tasks[5].dependencies",
        "tasks[8].dependencies"
      ])
      assert.strictEqual(error.file, "broken.yaml")
      assert.strictEqual(error.code, ErrorCode.WorkflowValidation)
      assert.include(error.message, "broken.yaml: 7 problems")
      for (const issue of error.issues) assert.include(error.message, issue.message)
    }))

  it.effect("reports a duplicate id at the second task's id", () =>
    Effect.gen(function*() {
      const issue = issueAt(yield* invalid(broken, { catalog }), "tasks[1].id")
      assert.strictEqual(issue.message, "duplicate task id 'fetch' (also tasks[0])")
      assert.strictEqual(issue.code, ErrorCode.WorkflowValidation)
      assertAt(issue, broken, "fetch", 1)
    }))

  it.effect("reports an unknown dependency as an error at the dependency", () =>
    Effect.gen(function*() {
      const issue = issueAt(yield* invalid(broken, { catalog }), "tasks[4].dependencies[1]")
      assert.strictEqual(issue.message, "dependency 'nowhere' names no task in this workflow")
      assertAt(issue, broken, "nowhere")
    }))

  it.effect("reports an unknown method with the known methods of its protocol", () =>
    Effect.gen(function*() {
      const issue = issueAt(yield* invalid(broken, { catalog }), "tasks[3].method")
      assert.strictEqual(issue.code, ErrorCode.MethodNotFound)
      assert.include(issue.message, "unknown method 'mcp/tool.sum'")
      assert.include(issue.message, "mcp/tool.add")
      assert.notInclude(issue.message, "http/request")
      assertAt(issue, broken, "mcp/tool.sum")
    }))

  it.effect("reports params that fail the method schema at the offending value", () =>
    Effect.gen(function*() {
      const error = yield* invalid(broken, { catalog })
      const url = issueAt(error, "tasks[0].params.url")
      assert.strictEqual(url.code, ErrorCode.InvalidParams)
      assert.include(url.message, "must be an absolute http(s) URL")
      assertAt(url, broken, "not a url")
      const b = issueAt(error, "tasks[2].params.b")
      assert.include(b.message, "Expected number")
      assertAt(b, broken, "two")
    }))

  it.effect("does not reject params that hold a reference, whole or interpolated", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(
        yaml(
          "tasks:",
          "  - id: numbers",
          "    method: mcp/tool.echo",
          "    params: { message: \"[1, 2]\" }",
          "  - id: add",
          "    method: mcp/tool.add",
          "    params: { a: \"${numbers.response}\", b: \"1${numbers.response}\" }",
          "  - id: join",
          "    method: mcp/tool.concat",
          "    params: { strings: \"${numbers.list}\" }",
          "  - id: get",
          "    method: http/request",
          "    params: { url: \"${numbers.response}\", headers: { x-token: \"${add.result}\" } }"
        ),
        { catalog }
      )
      assert.deepStrictEqual(workflow.tasks.map((t) => t.dependencies.length), [0, 1, 1, 2])
    }))

  it.effect("still reports the other params problems of a task whose params hold a reference", () =>
    Effect.gen(function*() {
      const error = yield* invalid(
        yaml(
          "tasks:",
          "  - { id: a, method: mcp/tool.echo, params: { message: hi } }",
          "  - { id: b, method: mcp/tool.add, params: { a: \"${a.response}\", b: [2] } }"
        ),
        { catalog }
      )
      assert.deepStrictEqual(error.issues.map((i) => i.path), ["tasks[1].params.b"])
    }))

  it.effect("reports missing required params at the params map", () =>
    Effect.gen(function*() {
      const text = yaml("tasks:", "  - id: e", "    method: mcp/tool.echo", "    params: { text: hi }")
      const issue = issueAt(yield* invalid(text, { catalog }), "tasks[0].params.message")
      assert.include(issue.message, "is missing")
      assertAt(issue, text, "{ text: hi }")
    }))

  it.effect("reports a value that matches no member of a union once", () =>
    Effect.gen(function*() {
      const text = yaml("tasks:", "  - { method: http/request, params: { url: \"https://x.test\", method: fetch } }")
      const error = yield* invalid(text, { catalog })
      assert.strictEqual(error.issues.length, 1)
      const issue = issueAt(error, "tasks[0].params.method")
      assert.include(issue.message, "\"GET\" | \"HEAD\"")
      assert.notInclude(issue.message, "undefined")
      assertAt(issue, text, "fetch")
    }))

  it.effect("points at the parameters key when params are written as parameters", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: add",
        "    method: mcp/tool.add",
        "    parameters:",
        "      a: 1",
        "      b: three",
        "  - id: echo",
        "    method: mcp/tool.echo",
        "    parameters:",
        "      message: ${nobody.response}"
      )
      const error = yield* invalid(text, { catalog })
      assertAt(issueAt(error, "tasks[0].parameters.b"), text, "three")
      assertAt(issueAt(error, "tasks[1].parameters.message"), text, "${nobody")
    }))

  it.effect("accepts any method when no catalog is given", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("tasks:", "  - { method: custom/anything, params: { x: 1 } }"))
      assert.strictEqual(workflow.tasks[0]!.method, "custom/anything")
    }))

  it.effect("names the cycle along its dependencies and points at the first task's dependencies", () =>
    Effect.gen(function*() {
      const issue = issueAt(yield* invalid(broken, { catalog }), "tasks[5].dependencies")
      assert.strictEqual(issue.message, "dependency cycle: a → b → c → a")
      assert.strictEqual(issue.code, ErrorCode.CircularDependency)
      assertAt(issue, broken, "[b]")
    }))

  it.effect("reports a self-dependency as a cycle of one task", () =>
    Effect.gen(function*() {
      const issue = issueAt(yield* invalid(broken, { catalog }), "tasks[8].dependencies")
      assert.strictEqual(issue.message, "dependency cycle: self → self")
      assertAt(issue, broken, "[self]")
    }))

  it.effect("finds cycles made by references, naming tasks by id", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: draft",
        "    name: Draft",
        "    method: mcp/tool.echo",
        "    params: { message: \"${Review.response}\" }",
        "  - id: review",
        "    name: Review",
        "    method: mcp/tool.echo",
        "    params: { message: \"${Draft.response}\" }",
        "  - id: loop",
        "    method: mcp/tool.echo",
        "    params: { message: \"${loop.response}\" }"
      )
      const error = yield* invalid(text, { catalog })
      assert.deepStrictEqual(error.issues.map((i) => i.message), [
        "dependency cycle: draft → review → draft",
        "dependency cycle: loop → loop"
      ])
      assert.strictEqual(error.code, ErrorCode.CircularDependency)
      assert.isTrue(WorkflowLoader.hasCycle(error))
      assertAt(issueAt(error, "tasks[0].dependencies"), text, "id: draft")
    }))

  it.effect("does not call an error without cycles a cycle", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("tasks:", "  - { id: a, method: mcp/tool.echo, dependencies: [z] }"))
      assert.isFalse(WorkflowLoader.hasCycle(error))
      assert.strictEqual(error.code, ErrorCode.WorkflowValidation)
    }))

  it.effect("renders each issue as file:line:column: path: message", () =>
    Effect.gen(function*() {
      const text = yaml("tasks:", "  - id: a", "    method: mcp/tool.echo", "    dependencies: [zzz]")
      const error = yield* invalid(text, { file: "flow.yaml" })
      const { column, line } = positionOf(text, "zzz")
      const rendered =
        `flow.yaml:${line}:${column}: tasks[0].dependencies[0]: dependency 'zzz' names no task in this workflow`
      assert.strictEqual(error.issues[0]!.render("flow.yaml"), rendered)
      assert.strictEqual(error.message, `flow.yaml: 1 problem\n  - ${rendered}`)
    }))

  it.effect("normalizes a method alias to its canonical name and protocol", () =>
    Effect.gen(function*() {
      const llm = Protocol.make("llm/v1", [
        Protocol.method({
          name: "llm/complete",
          protocol: "llm/v1",
          aliases: ["llm/generate"],
          description: "Complete a prompt",
          params: Schema.Struct({ model: Schema.String, prompt: Schema.String })
        })
      ])
      const { workflow } = yield* load(
        yaml("tasks:", "  - { method: llm/generate, params: { model: m, prompt: hi } }"),
        { catalog: Protocol.catalog([llm]) }
      )
      assert.strictEqual(workflow.tasks[0]!.method, "llm/complete")
      assert.strictEqual(workflow.tasks[0]!.protocol, "llm/v1")
    }))

  it.effect("keeps the params as written, not as decoded by the method schema", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(
        yaml("tasks:", "  - { method: http/request, params: { url: \"https://example.com\", method: post } }"),
        { catalog }
      )
      assert.deepStrictEqual(workflow.tasks[0]!.params, { url: "https://example.com", method: "post" })
    }))

  // Validation is linear in tasks and edges: a quadratic walk takes tens of seconds here (it took 36 s to load and
  // 49 s to validate such a file); the bound is the test's timeout, far above the linear cost.
  it.effect(
    "validates 20,000 tasks joined by one task, by name and by reference, within seconds",
    () =>
      Effect.gen(function*() {
        const n = 20_000
        const tasks: Array<Record<string, unknown>> = []
        for (let i = 0; i < n; i++) {
          tasks.push({ id: `t${i}`, name: `step ${i}`, method: "mcp/tool.echo", params: { message: "hi" } })
        }
        tasks.push({
          id: "join",
          method: "mcp/tool.echo",
          dependencies: tasks.map((t, i) => (i % 2 === 0 ? t["id"] : t["name"])),
          params: { message: "${t0} ${step 1}" }
        })
        const { workflow } = yield* WorkflowLoader.fromObject({ name: "wide", tasks }, { catalog })
        assert.strictEqual(workflow.tasks.length, n + 1)
        assert.strictEqual(workflow.tasks[n]!.dependencies.length, n)
        const cyclic = [{ ...tasks[0]!, dependencies: ["join"] }, ...tasks.slice(1)]
        const error = yield* Effect.flip(WorkflowLoader.fromObject({ name: "wide", tasks: cyclic }, { catalog }))
        assert.deepStrictEqual(
          error.issues.map((issue) => issue.message),
          ["dependency cycle: t0 → join → t0"]
        )
      }),
    { timeout: 10_000 }
  )
})
