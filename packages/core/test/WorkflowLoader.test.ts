import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, Priority, Retry, WorkflowLoader } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { assertAt, catalog, invalid, issueAt, load, yaml } from "./helpers.js"

const task = (method = "mcp/tool.echo") => [`  - method: ${method}`, "    params: { message: hi }"]

describe("WorkflowLoader workflow keys", () => {
  it.effect("keeps id, name, description and version as written", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "id: research-flow",
        "name: Research and summarize",
        "description: Fetch a page and summarize it",
        "version: \"1.2\"",
        "tasks:",
        ...task()
      ))
      assert.strictEqual(workflow.id, "research-flow")
      assert.strictEqual(workflow.name, "Research and summarize")
      assert.strictEqual(workflow.description, "Fetch a page and summarize it")
      assert.strictEqual(workflow.version, "1.2")
    }))

  it.effect("accepts a numeric id and version as text", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("id: 42", "version: 3", "tasks:", ...task()))
      assert.strictEqual(workflow.id, "42")
      assert.strictEqual(workflow.version, "3")
      assert.strictEqual(workflow.name, "42")
    }))

  it.effect("generates the id from the name when it is missing", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("name: My Research Flow (v2)!", "tasks:", ...task()))
      assert.strictEqual(workflow.id, "my-research-flow-v2")
      assert.strictEqual(workflow.name, "My Research Flow (v2)!")
      assert.isUndefined(workflow.description)
      assert.isUndefined(workflow.version)
    }))

  it.effect("names an anonymous workflow after its file, else 'workflow'", () =>
    Effect.gen(function*() {
      const fromFile = yield* load(yaml("tasks:", ...task()), { file: "/home/me/flows/Daily Report.yaml" })
      assert.strictEqual(fromFile.workflow.name, "Daily Report")
      assert.strictEqual(fromFile.workflow.id, "daily-report")
      const anonymous = yield* load(yaml("tasks:", ...task()))
      assert.strictEqual(anonymous.workflow.name, "workflow")
      assert.strictEqual(anonymous.workflow.id, "workflow")
    }))

  it.effect("rejects an empty name and a name over 200 characters", () =>
    Effect.gen(function*() {
      const empty = yield* invalid(yaml("name: \"\"", "tasks:", ...task()))
      assert.include(issueAt(empty, "name").message, "1–200 characters")
      const long = yield* invalid(yaml(`name: ${"x".repeat(201)}`, "tasks:", ...task()))
      assert.include(issueAt(long, "name").message, "got 201")
      const ok = yield* load(yaml(`name: ${"x".repeat(200)}`, "tasks:", ...task()))
      assert.strictEqual(ok.workflow.name.length, 200)
    }))

  it.effect("keeps metadata as a free map and defaults it to empty", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "metadata:",
        "  owner: research-team",
        "  tags: [daily, llm]",
        "  nested: { level: 2 }",
        "tasks:",
        ...task()
      ))
      assert.deepStrictEqual(workflow.metadata, {
        owner: "research-team",
        tags: ["daily", "llm"],
        nested: { level: 2 }
      })
      const bare = yield* load(yaml("tasks:", ...task()))
      assert.deepStrictEqual(bare.workflow.metadata, {})
    }))

  it.effect("rejects metadata that is not a map", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("metadata: [a, b]", "tasks:", ...task()))
      assert.include(issueAt(error, "metadata").message, "must be a mapping, got a list")
    }))

  it.effect("turns the workflow timeout from seconds into milliseconds", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("timeout: 90", "tasks:", ...task()))
      assert.strictEqual(workflow.timeoutMs, 90_000)
      const none = yield* load(yaml("tasks:", ...task()))
      assert.isUndefined(none.workflow.timeoutMs)
    }))

  it.effect("defaults on_failure to fail_fast and accepts fail_fast, fail-fast and continue", () =>
    Effect.gen(function*() {
      const onFailure = (...lines: ReadonlyArray<string>) =>
        Effect.map(load(yaml(...lines, "tasks:", ...task())), ({ workflow }) => workflow.onFailure)
      assert.strictEqual(yield* onFailure(), "fail_fast")
      assert.strictEqual(yield* onFailure("on_failure: fail_fast"), "fail_fast")
      assert.strictEqual(yield* onFailure("on_failure: fail-fast"), "fail_fast")
      assert.strictEqual(yield* onFailure("on_failure: continue"), "continue")
    }))

  it.effect("rejects any other on_failure", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("on_failure: ignore", "tasks:", ...task()))
      assert.include(issueAt(error, "on_failure").message, "must be fail_fast or continue")
    }))

  it.effect("honours max_parallel_tasks as a positive integer", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* load(yaml("max_parallel_tasks: 4", "tasks:", ...task()))).workflow.maxParallelTasks, 4)
      assert.isUndefined((yield* load(yaml("tasks:", ...task()))).workflow.maxParallelTasks)
      for (const bad of ["0", "-2", "1.5", "many"]) {
        const error = yield* invalid(yaml(`max_parallel_tasks: ${bad}`, "tasks:", ...task()))
        assert.include(issueAt(error, "max_parallel_tasks").message, "must be a positive integer")
      }
    }))

  it.effect("keeps outputs, including references to tasks by id and by name", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - id: add",
        "    name: Adder",
        "    method: mcp/tool.add",
        "    params: { a: 1, b: 2 }",
        "outputs:",
        "  sum: ${add.result}",
        "  text: \"Sum is ${Adder.response}\"",
        "  constant: 7"
      ))
      assert.deepStrictEqual(workflow.outputs, { sum: "${add.result}", text: "Sum is ${Adder.response}", constant: 7 })
      const none = yield* load(yaml("tasks:", ...task()))
      assert.deepStrictEqual(none.workflow.outputs, {})
    }))

  it.effect("keeps provider hints", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "providers:",
        "  ollama:",
        "    strategy: least_loaded",
        "    instances: [{ url: \"http://a:11434\" }, { url: \"http://b:11434\" }]",
        "tasks:",
        ...task()
      ))
      assert.deepStrictEqual(workflow.providers, {
        ollama: { strategy: "least_loaded", instances: [{ url: "http://a:11434" }, { url: "http://b:11434" }] }
      })
    }))

  it.effect("accepts the predecessor's ignored keys without warnings", () =>
    Effect.gen(function*() {
      const { warnings } = yield* load(yaml(
        "type: workflow",
        "protocol: mcp/v1",
        "wait_for_completion: true",
        "priority: high",
        "tasks:",
        ...task()
      ))
      assert.deepStrictEqual(warnings, [])
    }))

  it.effect("rejects a non-boolean wait_for_completion and an unknown type", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("type: pipeline", "wait_for_completion: sometimes", "tasks:", ...task()))
      assert.include(issueAt(error, "type").message, "must be workflow or batch")
      assert.include(issueAt(error, "wait_for_completion").message, "must be true or false")
    }))

  it.effect("asks for a file listing to expand a batch workflow that has no tasks", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "type: batch",
        "batch: { directory: ./docs, pattern: \"*.txt\" }",
        "template: { method: llm/chat }"
      ))
      assert.include(issueAt(error, "batch").message, "batch workflows need a file listing")
    }))

  it.effect("warns about unknown workflow keys instead of failing, pointing at them", () =>
    Effect.gen(function*() {
      const text = yaml("name: demo", "schedule: daily", "tasks:", ...task())
      const { warnings, workflow } = yield* load(text)
      assert.strictEqual(workflow.name, "demo")
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(warnings[0]!.path, "schedule")
      assert.include(warnings[0]!.message, "unknown workflow key 'schedule' ignored")
      assertAt(warnings[0]!, text, "daily")
    }))

  it.effect("applies the workflow priority to tasks without one", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "priority: urgent",
        "tasks:",
        "  - id: a",
        "    method: mcp/tool.echo",
        "  - id: b",
        "    method: mcp/tool.echo",
        "    priority: low"
      ))
      assert.strictEqual(workflow.priority, Priority.ranks.urgent)
      assert.deepStrictEqual(workflow.tasks.map((t) => t.priority), [Priority.ranks.urgent, Priority.ranks.low])
    }))
})

describe("WorkflowLoader task keys", () => {
  it.effect("generates ids task-1, task-2, … skipping ids already taken, and names default to ids", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - method: mcp/tool.echo",
        "  - id: task-1",
        "    method: mcp/tool.echo",
        "  - name: Third",
        "    method: mcp/tool.echo",
        "  - id: 7",
        "    method: mcp/tool.echo"
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => t.id), ["task-2", "task-1", "task-3", "7"])
      assert.deepStrictEqual(workflow.tasks.map((t) => t.name), ["task-2", "task-1", "Third", "7"])
    }))

  it.effect("requires a method and trims it", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "tasks:",
        "  - id: a",
        "  - id: b",
        "    method: \"   \"",
        "  - id: c",
        "    method: 12"
      ))
      assert.strictEqual(issueAt(error, "tasks[0].method").message, "is required")
      assert.include(issueAt(error, "tasks[1].method").message, "must be a method name")
      assert.include(issueAt(error, "tasks[2].method").message, "must be a method name")
      const { workflow } = yield* load(yaml("tasks:", "  - method: \" mcp/tool.echo \""))
      assert.strictEqual(workflow.tasks[0]!.method, "mcp/tool.echo")
    }))

  it.effect("derives the protocol from the method unless one is given", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - method: llm/chat",
        "  - method: python/execute",
        "  - method: mcp/tool.add",
        "  - method: llm/chat",
        "    protocol: llm/v2"
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => t.protocol), ["llm/v1", "python/v1", "mcp/v1", "llm/v2"])
    }))

  it.effect("reads params, or parameters when params is absent, and defaults to empty", () =>
    Effect.gen(function*() {
      const { warnings, workflow } = yield* load(yaml(
        "tasks:",
        "  - method: llm/chat",
        "    params: { model: llama3 }",
        "  - method: llm/chat",
        "    parameters: { model: mistral }",
        "  - method: llm/chat"
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => t.params), [{ model: "llama3" }, { model: "mistral" }, {}])
      assert.deepStrictEqual(warnings, [])
    }))

  it.effect("lets params win over parameters with a warning at parameters", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - method: llm/chat",
        "    params: { model: llama3 }",
        "    parameters: { model: mistral }"
      )
      const { warnings, workflow } = yield* load(text)
      assert.deepStrictEqual(workflow.tasks[0]!.params, { model: "llama3" })
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(warnings[0]!.path, "tasks[0].parameters")
      assert.include(warnings[0]!.message, "'params' wins")
      assertAt(warnings[0]!, text, "{ model: mistral }")
    }))

  it.effect("rejects params that are not a map", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("tasks:", "  - method: llm/chat", "    params: [1, 2]"))
      assert.include(issueAt(error, "tasks[0].params").message, "must be a mapping")
    }))

  it.effect("resolves dependencies given by id, by name, as one string and as numbers", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - id: fetch",
        "    name: Fetch page",
        "    method: mcp/tool.echo",
        "  - id: 2",
        "    method: mcp/tool.echo",
        "  - id: by-name",
        "    method: mcp/tool.echo",
        "    dependencies: [Fetch page]",
        "  - id: by-id",
        "    method: mcp/tool.echo",
        "    dependencies: fetch",
        "  - id: by-number",
        "    method: mcp/tool.echo",
        "    dependencies: [2, fetch, Fetch page]"
      ))
      const deps = Object.fromEntries(workflow.tasks.map((t) => [String(t.id), t.dependencies.map(String)]))
      assert.deepStrictEqual(deps, {
        "fetch": [],
        "2": [],
        "by-name": ["fetch"],
        "by-id": ["fetch"],
        "by-number": ["2", "fetch"]
      })
    }))

  it.effect("rejects a dependency on a name that several tasks share", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "tasks:",
        "  - { id: a, name: Step, method: mcp/tool.echo }",
        "  - { id: b, name: Step, method: mcp/tool.echo }",
        "  - { id: c, method: mcp/tool.echo, dependencies: [Step] }"
      ))
      assert.include(issueAt(error, "tasks[2].dependencies[0]").message, "ambiguous: 2 tasks have that name")
    }))

  it.effect("rejects dependencies that are not ids or names", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "tasks:",
        "  - { id: a, method: mcp/tool.echo }",
        "  - { id: b, method: mcp/tool.echo, dependencies: [{ id: a }] }",
        "  - { id: c, method: mcp/tool.echo, dependencies: { a: true } }"
      ))
      assert.include(issueAt(error, "tasks[1].dependencies[0]").message, "must be a task id or name")
      assert.include(issueAt(error, "tasks[2].dependencies").message, "must be a list of task ids or names")
    }))

  it.effect("maps priority names to ranks", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        ...["low", "normal", "high", "urgent"].flatMap((p) => [`  - method: mcp/tool.echo`, `    priority: ${p}`]),
        "  - method: mcp/tool.echo"
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => Priority.nameOf(t.priority)), [
        "low",
        "normal",
        "high",
        "urgent",
        "normal"
      ])
      assert.deepStrictEqual(workflow.tasks.map((t) => t.priority), [0, 1, 2, 3, 1])
    }))

  it.effect("maps the predecessor's priority numbers 1 → high, 2 → normal, 3 → low", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        ...[1, 2, 3].flatMap((p) => [`  - method: mcp/tool.echo`, `    priority: ${p}`])
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => Priority.nameOf(t.priority)), ["high", "normal", "low"])
    }))

  it.effect("rejects unknown priority names, including names of object properties", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "tasks:",
        "  - { method: mcp/tool.echo, priority: critical }",
        "  - { method: mcp/tool.echo, priority: toString }",
        "  - { method: mcp/tool.echo, priority: constructor }",
        "  - { method: mcp/tool.echo, priority: [high] }"
      ))
      for (let i = 0; i < 4; i++) {
        assert.include(issueAt(error, `tasks[${i}].priority`).message, "must be one of low, normal, high, urgent")
      }
    }))

  it.effect("turns the task timeout from seconds into milliseconds, never rounding a positive timeout to 0", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - { method: mcp/tool.echo, timeout: 30 }",
        "  - { method: mcp/tool.echo, timeout: 1.5 }",
        "  - { method: mcp/tool.echo, timeout: 0.0004 }",
        "  - { method: mcp/tool.echo }"
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => t.timeoutMs), [30_000, 1500, 1, undefined])
    }))

  it.effect("rejects a timeout that is not a positive number of seconds", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "timeout: -1",
        "tasks:",
        "  - { method: mcp/tool.echo, timeout: 0 }",
        "  - { method: mcp/tool.echo, timeout: 30s }"
      ))
      assert.include(issueAt(error, "timeout").message, "positive number of seconds")
      assert.include(issueAt(error, "tasks[0].timeout").message, "positive number of seconds")
      assert.include(issueAt(error, "tasks[1].timeout").message, "positive number of seconds")
    }))

  it.effect("keeps task metadata as a free map", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - method: mcp/tool.echo",
        "    metadata: { stage: 1, labels: [a] }",
        "  - method: mcp/tool.echo"
      ))
      assert.deepStrictEqual(workflow.tasks.map((t) => t.metadata), [{ stage: 1, labels: ["a"] }, {}])
      const error = yield* invalid(yaml("tasks:", "  - { method: mcp/tool.echo, metadata: just text }"))
      assert.include(issueAt(error, "tasks[0].metadata").message, "must be a mapping")
    }))

  it.effect("warns about unknown task keys instead of failing, pointing at them", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: a",
        "    method: mcp/tool.echo",
        "    retries: 5",
        "    color: blue"
      )
      const { warnings, workflow } = yield* load(text)
      assert.strictEqual(workflow.tasks.length, 1)
      assert.deepStrictEqual(warnings.map((w) => w.path), ["tasks[0].retries", "tasks[0].color"])
      assert.include(warnings[0]!.message, "unknown task key 'retries' ignored")
      assertAt(warnings[0]!, text, "5")
      assertAt(warnings[1]!, text, "blue")
    }))

  it.effect("rejects a task that is not a map", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml("tasks:", "  - mcp/tool.echo", "  - { method: mcp/tool.echo }"))
      assert.include(issueAt(error, "tasks[0]").message, "a task must be a mapping, got string")
    }))
})

describe("WorkflowLoader retry", () => {
  it.effect("defaults to 3 attempts, exponential backoff from 1 s capped at 30 s, with jitter", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("tasks:", ...task()))
      const retry = workflow.tasks[0]!.retry
      assert.deepStrictEqual(
        { ...retry },
        { maxAttempts: 3, backoff: "exponential", baseDelayMs: 1000, maxDelayMs: 30_000, jitter: true }
      )
      assert.deepStrictEqual({ ...retry }, { ...Retry.defaultPolicy })
    }))

  it.effect("reads every retry key, turning seconds into milliseconds", () =>
    Effect.gen(function*() {
      const { warnings, workflow } = yield* load(yaml(
        "tasks:",
        "  - method: mcp/tool.echo",
        "    retry:",
        "      max_attempts: 5",
        "      backoff: linear",
        "      base_delay: 0.5",
        "      max_delay: 4",
        "      jitter: false"
      ))
      assert.deepStrictEqual({ ...workflow.tasks[0]!.retry }, {
        maxAttempts: 5,
        backoff: "linear",
        baseDelayMs: 500,
        maxDelayMs: 4000,
        jitter: false
      })
      assert.deepStrictEqual(warnings, [])
    }))

  it.effect("keeps defaults for the retry keys that are not given", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("tasks:", "  - { method: mcp/tool.echo, retry: { backoff: fixed } }"))
      assert.deepStrictEqual({ ...workflow.tasks[0]!.retry }, { ...Retry.defaultPolicy, backoff: "fixed" })
    }))

  it.effect("accepts a number as the attempt count", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("tasks:", "  - { method: mcp/tool.echo, retry: 5 }"))
      assert.deepStrictEqual({ ...workflow.tasks[0]!.retry }, { ...Retry.defaultPolicy, maxAttempts: 5 })
    }))

  it.effect("raises the cap to base_delay when only base_delay exceeds the default cap", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("tasks:", "  - { method: mcp/tool.echo, retry: { base_delay: 60 } }"))
      assert.strictEqual(workflow.tasks[0]!.retry.baseDelayMs, 60_000)
      assert.strictEqual(workflow.tasks[0]!.retry.maxDelayMs, 60_000)
    }))

  it.effect("inherits the workflow retry in tasks, overridden key by key", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "retry: { max_attempts: 6, backoff: fixed, base_delay: 2, jitter: false }",
        "tasks:",
        "  - id: a",
        "    method: mcp/tool.echo",
        "  - id: b",
        "    method: mcp/tool.echo",
        "    retry: { max_attempts: 2 }"
      ))
      const inherited = { maxAttempts: 6, backoff: "fixed", baseDelayMs: 2000, maxDelayMs: 30_000, jitter: false }
      assert.deepStrictEqual({ ...workflow.tasks[0]!.retry }, inherited)
      assert.deepStrictEqual({ ...workflow.tasks[1]!.retry }, { ...inherited, maxAttempts: 2 })
    }))

  it.effect("uses the defaultRetry option for tasks that declare none", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml("tasks:", ...task()), { defaultRetry: Retry.never })
      assert.strictEqual(workflow.tasks[0]!.retry.maxAttempts, 1)
    }))

  it.effect("rejects out-of-range and mistyped retry values, each at its key", () =>
    Effect.gen(function*() {
      const error = yield* invalid(yaml(
        "tasks:",
        "  - method: mcp/tool.echo",
        "    retry: { max_attempts: 0, backoff: random, base_delay: -1, jitter: \"yes\" }",
        "  - method: mcp/tool.echo",
        "    retry: { max_attempts: 11, base_delay: 10, max_delay: 5 }",
        "  - method: mcp/tool.echo",
        "    retry: { max_attempts: 2.5 }",
        "  - method: mcp/tool.echo",
        "    retry: 0",
        "  - method: mcp/tool.echo",
        "    retry: always"
      ))
      assert.include(issueAt(error, "tasks[0].retry.max_attempts").message, "integer from 1 to 10")
      assert.include(issueAt(error, "tasks[0].retry.backoff").message, "fixed, linear or exponential")
      assert.include(issueAt(error, "tasks[0].retry.base_delay").message, "non-negative number of seconds")
      assert.include(issueAt(error, "tasks[0].retry.jitter").message, "true or false")
      assert.include(issueAt(error, "tasks[1].retry.max_attempts").message, "integer from 1 to 10")
      assert.include(issueAt(error, "tasks[1].retry.max_delay").message, "must not be below base_delay")
      assert.include(issueAt(error, "tasks[2].retry.max_attempts").message, "integer from 1 to 10")
      assert.include(issueAt(error, "tasks[3].retry").message, "from 1 to 10")
      assert.include(issueAt(error, "tasks[4].retry").message, "must be a mapping")
    }))

  it.effect("warns about unknown retry keys", () =>
    Effect.gen(function*() {
      const { warnings } = yield* load(yaml("tasks:", "  - { method: mcp/tool.echo, retry: { multiplier: 3 } }"))
      assert.deepStrictEqual(warnings.map((w) => w.path), ["tasks[0].retry.multiplier"])
    }))
})

describe("WorkflowLoader references", () => {
  it.effect("makes references imply dependencies, by id and by name, without duplicates", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(
        yaml(
          "tasks:",
          "  - id: fetch",
          "    method: mcp/tool.echo",
          "    params: { message: page }",
          "  - id: count",
          "    name: Counter",
          "    method: mcp/tool.add",
          "    params: { a: 1, b: 2 }",
          "  - id: report",
          "    method: mcp/tool.echo",
          "    dependencies: [fetch]",
          "    params:",
          "      message: \"${fetch.response} has ${Counter.result} parts (${count.response})\""
        ),
        { catalog }
      )
      assert.deepStrictEqual(workflow.tasks[2]!.dependencies.map(String), ["fetch", "count"])
    }))

  it.effect("finds references nested in lists and maps of params", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(yaml(
        "tasks:",
        "  - { id: a, method: mcp/tool.echo }",
        "  - { id: b, method: mcp/tool.echo }",
        "  - id: c",
        "    method: llm/chat",
        "    params:",
        "      messages:",
        "        - { role: user, content: \"${a.response}\" }",
        "        - { role: user, content: [\"${b.items[0].name}\"] }"
      ))
      assert.deepStrictEqual(workflow.tasks[2]!.dependencies.map(String), ["a", "b"])
    }))

  it.effect("does not treat an escaped $${ as a reference", () =>
    Effect.gen(function*() {
      const { workflow } = yield* load(
        yaml(
          "tasks:",
          "  - { id: a, method: mcp/tool.echo, params: { message: \"$${a.response} costs $${price}\" } }"
        ),
        { catalog }
      )
      assert.deepStrictEqual(workflow.tasks[0]!.dependencies, [])
    }))

  it.effect("reports a reference to an unknown task at the string that holds it", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: a",
        "    method: mcp/tool.echo",
        "    params:",
        "      message: \"Result: ${ghost.response}\""
      )
      const error = yield* invalid(text)
      const issue = issueAt(error, "tasks[0].params.message")
      assert.include(issue.message, "${ghost.response}")
      assert.include(issue.message, "'ghost' names no task")
      assertAt(issue, text, "\"Result:")
    }))

  it.effect("reports a malformed reference as a parameter error", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: a",
        "    method: mcp/tool.echo",
        "    params: { message: \"${a..response}\", other: \"${a.x\" }"
      )
      const error = yield* invalid(text)
      const empty = issueAt(error, "tasks[0].params.message")
      assert.strictEqual(empty.code, ErrorCode.ParameterError)
      assert.include(empty.message, "empty path segment")
      assertAt(empty, text, "\"${a..response}\"")
      assert.include(issueAt(error, "tasks[0].params.other").message, "unterminated")
    }))

  it.effect("reports references in outputs to unknown tasks", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - { id: a, method: mcp/tool.echo }",
        "outputs:",
        "  answer: ${missing.response}"
      )
      const error = yield* invalid(text)
      const issue = issueAt(error, "outputs.answer")
      assert.include(issue.message, "'missing' names no task")
      assertAt(issue, text, "${missing")
    }))
})

describe("WorkflowLoader.fromObject", () => {
  it.effect("loads a plain object in the workflow format", () =>
    Effect.gen(function*() {
      const { workflow } = yield* WorkflowLoader.fromObject({
        name: "typed",
        tasks: [
          { id: "a", method: "mcp/tool.add", params: { a: 1, b: 2 } },
          { id: "b", method: "mcp/tool.echo", params: { message: "${a.response}" } }
        ]
      }, { catalog })
      assert.strictEqual(workflow.id, "typed")
      assert.deepStrictEqual(workflow.tasks.map((t) => [String(t.id), t.dependencies.map(String)]), [
        ["a", []],
        ["b", ["a"]]
      ])
    }))

  it.effect("reports issues by path without line or column", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(WorkflowLoader.fromObject({ tasks: [{ id: "a" }] }, { file: "api" }))
      assert.strictEqual(error.file, "api")
      assert.strictEqual(error.issues.length, 1)
      assert.strictEqual(error.issues[0]!.path, "tasks[0].method")
      assert.isUndefined(error.issues[0]!.line)
      assert.isUndefined(error.issues[0]!.column)
    }))
})
