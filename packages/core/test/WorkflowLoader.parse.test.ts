import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, WorkflowLoader } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { assertAt, catalog, invalid, issueAt, load, positionOf, unparsable, yaml } from "./helpers.js"

describe("WorkflowLoader malformed input", () => {
  it.effect("reports bad YAML syntax as a WorkflowParseError with line and column", () =>
    Effect.gen(function*() {
      const text = yaml("name: demo", "tasks:", "  - id: a", "    method: llm: chat")
      const error = yield* unparsable(text, { file: "demo.yaml" })
      const { column, line } = positionOf(text, "llm: chat")
      assert.strictEqual(error._tag, "WorkflowParseError")
      assert.strictEqual(error.file, "demo.yaml")
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line, column })
      assert.isTrue(error.message.startsWith(`demo.yaml:${line}:${column}: `))
      assert.strictEqual(error.code, ErrorCode.ParseError)
    }))

  it.effect("reports a tab used as indentation at its line", () =>
    Effect.gen(function*() {
      const error = yield* unparsable("name: demo\ntasks:\n\t- id: a\n")
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line: 3, column: 1 })
      assert.include(error.message, "Tabs are not allowed")
    }))

  it.effect("reports a duplicate key at the repeated key", () =>
    Effect.gen(function*() {
      const text = yaml("tasks:", "  - id: a", "    method: mcp/tool.echo", "    method: mcp/tool.add")
      const error = yield* unparsable(text)
      const { column, line } = positionOf(text, "method", 1)
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line, column })
      assert.include(error.message, "Map keys must be unique")
    }))

  it.effect("reports a duplicate top-level key", () =>
    Effect.gen(function*() {
      const text = yaml("name: one", "tasks: []", "name: two")
      const error = yield* unparsable(text)
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line: 3, column: 1 })
    }))

  it.effect("reports several documents in one file as a parse error", () =>
    Effect.gen(function*() {
      const error = yield* unparsable(yaml("name: a", "tasks: []", "---", "name: b"))
      assert.include(error.message, "multiple documents")
    }))

  it.effect("refuses alias expansion bombs", () =>
    Effect.gen(function*() {
      const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
      for (let i = 1; i < 8; i++) {
        lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`)
      }
      const error = yield* unparsable(yaml(...lines, "tasks: *a7"))
      assert.include(error.message.toLowerCase(), "alias")
    }))

  it.effect("rejects a document that is a list, naming what it got", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("- id: a", "  method: mcp/tool.echo"))
      assert.strictEqual(error.issues.length, 1)
      const issue = error.issues[0]!
      assert.strictEqual(issue.path, "")
      assert.include(issue.message, "a workflow must be a mapping with a 'tasks' list, got a list")
      assert.deepStrictEqual({ line: issue.line, column: issue.column }, { line: 1, column: 1 })
    }))

  it.effect("rejects a document that is a scalar or empty", () =>
    Effect.gen(function*() {
      const scalar = yield* invalid("just some text\n")
      assert.include(scalar.issues[0]!.message, "got string \"just some text\"")
      const empty = yield* invalid("")
      assert.include(empty.issues[0]!.message, "got null")
      const comment = yield* invalid("# nothing here\n")
      assert.include(comment.issues[0]!.message, "got null")
    }))

  it.effect("rejects tasks that are not a list, pointing at them", () =>
    Effect.gen(function*() {
      const text = yaml("name: demo", "tasks:", "  first:", "    method: mcp/tool.echo")
      const issue = issueAt(yield* invalid(text), "tasks")
      assert.include(issue.message, "must be a list of tasks, got a mapping")
      assertAt(issue, text, "first")
      const scalar = issueAt(yield* invalid(yaml("tasks: run everything")), "tasks")
      assert.include(scalar.message, "got string")
    }))

  it.effect("rejects missing and empty task lists", () =>
    Effect.gen(function*() {
      assert.strictEqual(issueAt(yield* invalid(yaml("name: demo")), "tasks").message, "is required")
      assert.strictEqual(issueAt(yield* invalid(yaml("tasks: []")), "tasks").message, "must contain at least one task")
    }))

  it.effect("refuses input over maxBytes before parsing, counting UTF-8 bytes", () =>
    Effect.gen(function*() {
      const text = yaml("name: Grüße", "tasks:", "  - method: mcp/tool.echo")
      const bytes = Buffer.byteLength(text, "utf8")
      assert.strictEqual(bytes, text.length + 2)
      const loaded = yield* load(text, { maxBytes: bytes })
      assert.strictEqual(loaded.workflow.name, "Grüße")
      const error = yield* unparsable(text, { maxBytes: bytes - 1, file: "big.yaml" })
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line: 1, column: 1 })
      assert.isAbove(bytes - 1, text.length)
      assert.strictEqual(error.message, `big.yaml is ${bytes} bytes; the limit is ${bytes - 1}`)
    }))

  it.effect("refuses input over 10 MiB by default", () =>
    Effect.gen(function*() {
      const text = yaml("tasks:", "  - method: mcp/tool.echo", `# ${"x".repeat(10 * 1024 * 1024)}`)
      const error = yield* unparsable(text)
      assert.include(error.message, "the limit is 10485760")
    }))
})

describe("WorkflowLoader nesting limits", () => {
  it.effect("refuses a JSON document nested 50,000 deep at the first level past the limit, without building it", () =>
    Effect.gen(function*() {
      const text = `{"tasks": ${"[".repeat(50_000)}${"]".repeat(50_000)}}`
      const error = yield* unparsable(text, { file: "deep.json" })
      // `{` is level 1, so the 64th `[` (column 11 + 63) is the 65th level.
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line: 1, column: 11 + 63 })
      assert.strictEqual(error.message, "deep.json:1:74: nested more than 64 levels deep (the limit)")
    }))

  it.effect("refuses block nesting past the limit at the line of the first node too deep", () =>
    Effect.gen(function*() {
      const lines = ["tasks:"]
      for (let i = 1; i < 80; i++) lines.push(`${"  ".repeat(i)}k${i}:`)
      const error = yield* unparsable(yaml(...lines, `${"  ".repeat(80)}leaf: 1`), { file: "deep.yaml" })
      assert.strictEqual(error.line, 65)
      assert.strictEqual(error.column, 2 * 64 + 1)
    }))

  it.effect("counts compact sequences (- - -) as nesting", () =>
    Effect.gen(function*() {
      const error = yield* unparsable(`tasks:\n${"- ".repeat(70)}x\n`, { maxDepth: 10 })
      assert.strictEqual(error.line, 2)
      // `tasks:` and a sequence at its own column share a level here, so the 11th dash is the first past 10.
      assert.strictEqual(error.column, 2 * 10 + 1)
    }))

  it.effect("loads real workflows with nested params, brackets in strings and block scalars under the limit", () =>
    Effect.gen(function*() {
      const schema = Array.from({ length: 20 }).reduce<unknown>(
        (inner) => ({ type: "object", properties: { x: inner } }),
        {
          type: "string"
        }
      )
      const text = yaml(
        "tasks:",
        "  - id: a",
        "    method: mcp/tool.echo",
        `    params: { message: "[[[[{{{{", extra: ${JSON.stringify(schema)} }`,
        "  - id: b",
        "    method: mcp/tool.echo",
        "    params:",
        "      message: |",
        `        ${"[".repeat(200)}`,
        "        {{{{ unbalanced [[[",
        "  # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "  - id: c",
        "    method: mcp/tool.echo",
        "    params: { message: 'it''s [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[' }"
      )
      const loaded = yield* load(text)
      assert.deepStrictEqual(loaded.workflow.tasks.map((t) => t.id), ["a", "b", "c"])
    }))

  it.effect("a nesting limit can be set per load", () =>
    Effect.gen(function*() {
      const text = yaml("tasks:", "  - method: mcp/tool.echo", "    params: { message: hi, x: [[[[1]]]] }")
      yield* load(text, { maxDepth: 8 })
      const error = yield* unparsable(text, { maxDepth: 6 })
      assert.include(error.message, "nested more than 6 levels deep")
    }))

  it.effect("places an alias-expansion refusal at the first alias", () =>
    Effect.gen(function*() {
      const lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
      for (let i = 1; i < 8; i++) {
        lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(", ")}]`)
      }
      const text = yaml(...lines, "tasks: *a7")
      const error = yield* unparsable(text)
      assert.deepStrictEqual({ line: error.line, column: error.column }, positionOf(text, "*a0"))
    }))
})

describe("WorkflowLoader JSON input", () => {
  const json = JSON.stringify(
    {
      name: "json flow",
      on_failure: "continue",
      tasks: [
        { id: "add", method: "mcp/tool.add", params: { a: 2, b: 3 }, priority: 1, timeout: 5 },
        {
          id: "show",
          method: "mcp/tool.echo",
          parameters: { message: "sum=${add.result}" },
          retry: { max_attempts: 2, backoff: "fixed", base_delay: 1, jitter: false }
        }
      ]
    },
    null,
    2
  )

  it.effect("loads a workflow written as JSON", () =>
    Effect.gen(function*() {
      const { warnings, workflow } = yield* load(json, { catalog })
      assert.deepStrictEqual(warnings, [])
      assert.strictEqual(workflow.id, "json-flow")
      assert.strictEqual(workflow.onFailure, "continue")
      assert.deepStrictEqual(workflow.tasks.map((t) => t.id), ["add", "show"])
      assert.deepStrictEqual(workflow.tasks[1]!.dependencies.map(String), ["add"])
      assert.deepStrictEqual(workflow.tasks[1]!.params, { message: "sum=${add.result}" })
      assert.strictEqual(workflow.tasks[0]!.timeoutMs, 5000)
      assert.strictEqual(workflow.tasks[1]!.retry.maxAttempts, 2)
    }))

  it.effect("locates validation issues in JSON text", () =>
    Effect.gen(function*() {
      const text = json.replace("\"b\": 3", "\"b\": \"three\"")
      const issue = issueAt(yield* invalid(text, { catalog }), "tasks[0].params.b")
      assertAt(issue, text, "\"three\"")
    }))

  it.effect("reports JSON syntax errors with line and column", () =>
    Effect.gen(function*() {
      const text = "{\n  \"tasks\": [\n    {\"id\": \"a\" \"method\": \"x\"}\n  ]\n}\n"
      const error = yield* unparsable(text)
      const { column, line } = positionOf(text, "\"method\"")
      assert.deepStrictEqual({ line: error.line, column: error.column }, { line, column })
    }))

  it.effect("reports duplicate keys in JSON", () =>
    Effect.gen(function*() {
      const text = "{\"tasks\": [], \"tasks\": []}"
      const error = yield* unparsable(text)
      assert.include(error.message, "Map keys must be unique")
      assert.deepStrictEqual({ line: error.line, column: error.column }, positionOf(text, "\"tasks\"", 1))
    }))
})

describe("WorkflowLoader.parse", () => {
  it.effect("locates a path, falling back to the nearest ancestor that exists", () =>
    Effect.gen(function*() {
      const text = yaml("name: demo", "tasks:", "  - id: a", "    method: mcp/tool.echo", "  - id: b")
      const parsed = yield* WorkflowLoader.parse(text)
      assert.deepStrictEqual(parsed.locate(["tasks", 1, "id"]), positionOf(text, "b"))
      assert.deepStrictEqual(parsed.locate(["tasks", 0, "method"]), positionOf(text, "mcp/tool.echo"))
      assert.deepStrictEqual(parsed.locate(["tasks", 1, "params", "x"]), positionOf(text, "id: b"))
      assert.deepStrictEqual(parsed.locate([]), { line: 1, column: 1 })
    }))
})
