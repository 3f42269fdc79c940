/**
 * LLM out of the box: with no `gleitzeit.yaml`, the `gleitzeit` binary uses a local Ollama (found once at
 * `OLLAMA_HOST`, as Ollama's own clients do) and says so; with none answering, `validate` warns and `run` refuses
 * to start, each naming the configuration section to add. The Ollama here is the test LLM server serving the model
 * name the `init` templates use.
 */
import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { type LlmServer, startLlmServer } from "./llm/launch.js"
import * as Cli from "./support/cli.js"

let llm: LlmServer
let unavailable: unknown
let ws: ReturnType<typeof Cli.workspace>

beforeAll(async () => {
  Cli.requireBuilt()
  try {
    llm = await startLlmServer({ models: ["llama3.2"] })
  } catch (error) {
    unavailable = error
  }
})
afterAll(() => llm?.stop())
beforeEach(() => {
  if (unavailable !== undefined) throw unavailable
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

const withOllama = (host: string) => ({ ...ws.opts, env: { OLLAMA_HOST: host } })

describe("no LLM endpoint configured", () => {
  it("init --type llm runs against the local Ollama, and the CLI says which endpoint it used", async () => {
    const init = await Cli.run(["init", "ask", "--type", "llm"], ws.opts)
    assert.strictEqual(init.code, 0, init.stderr)
    const opts = withOllama(`127.0.0.1:${llm.port}`)
    const validated = await Cli.run(["validate", "ask.yaml"], opts)
    assert.strictEqual(validated.code, 0, validated.stderr)
    assert.notInclude(validated.stderr, "warning")
    const result = await Cli.run(["run", "ask.yaml"], opts)
    assert.strictEqual(result.code, 0, result.stdout + result.stderr)
    assert.include(
      result.stderr,
      `note: llm: no endpoint configured; using the local Ollama at http://127.0.0.1:${llm.port}`
    )
    assert.match(result.stdout, /✔ run \w+ completed/)
    const stats = await llm.stats()
    assert.isAtLeast(stats.requests["POST /api/chat"] ?? 0, 2)
  })

  it("when no Ollama answers, validate warns and run refuses, both naming the section to add", async () => {
    await Cli.run(["init", "ask", "--type", "llm"], ws.opts)
    const opts = withOllama("127.0.0.1:1")
    const validated = await Cli.run(["validate", "ask.yaml"], opts)
    assert.strictEqual(validated.code, 0, validated.stderr)
    assert.match(validated.stderr, /warning: ask\.yaml:\d+:\d+: tasks\[0\]\.method: no LLM endpoint serves llm\/chat/)
    assert.include(validated.stderr, "no Ollama answers at http://127.0.0.1:1")
    assert.include(
      validated.stderr,
      "llm:\n    endpoints:\n      - { name: ollama, type: ollama, url: http://127.0.0.1:1 }"
    )
    const result = await Cli.run(["run", "ask.yaml"], opts)
    assert.strictEqual(result.code, 69, result.stderr)
    assert.include(result.stderr, "no LLM endpoint serves llm/chat")
    assert.include(result.stderr, "llm:\n    endpoints:")
    const list = await Cli.run(["list", "--json"], ws.opts)
    assert.deepStrictEqual(JSON.parse(list.stdout), [], "nothing was submitted")
  })

  it("a configured endpoint is used as configured, and no local Ollama is probed", async () => {
    ws.write("gleitzeit.yaml", `llm:\n  endpoints:\n    - { name: mine, type: ollama, url: ${llm.url} }\n`)
    await Cli.run(["init", "ask", "--type", "llm"], ws.opts)
    const result = await Cli.run(["run", "ask.yaml", "--json"], withOllama("127.0.0.1:1"))
    assert.strictEqual(result.code, 0, result.stderr)
    assert.notInclude(result.stderr, "note: llm")
    const summary = JSON.parse(result.stdout) as { tasks: Array<{ result: { instance: string } }> }
    assert.strictEqual(summary.tasks[0]!.result.instance, "mine")
  })
})
