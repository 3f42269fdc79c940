/**
 * LLM workflows in the predecessor's style run end to end by the `gleitzeit` binary against the test LLM server
 * (node-llama-cpp): chains passing `${t.response}`, parallel analyses fanning in, vision on a generated PNG, over
 * the Ollama and the OpenAI-compatible API, configured by gleitzeit.yaml or by the workflow's `providers` block.
 */
import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { png } from "../packages/providers/test/llmHelpers.js"
import { type LlmServer, startLlmServer } from "./llm/launch.js"
import * as Cli from "./support/cli.js"

let llm: LlmServer
let unavailable: unknown
let ws: ReturnType<typeof Cli.workspace>
const opts = () => ws.opts
const write = (name: string, text: string) => ws.write(name, text)

// A server that cannot start fails every test with the reason (naming node-llama-cpp), instead of skipping them.
beforeAll(async () => {
  Cli.requireBuilt()
  try {
    llm = await startLlmServer({ models: ["tiny-chat", "tiny-code", "tiny-embed"] })
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

const config = (type: "ollama" | "openai") =>
  write(
    "gleitzeit.yaml",
    [
      "llm:",
      "  strategy: least_loaded",
      "  endpoints:",
      `    - name: local-${type}`,
      `      type: ${type}`,
      `      url: ${type === "ollama" ? llm.url : `${llm.url}/v1`}`,
      ...(type === "openai" ? ["      api_key: sk-test-not-a-secret"] : []),
      ""
    ].join("\n")
  )

interface Summary {
  status: string
  tasks: Array<{ id: string; status: string; attempts: number; result: Record<string, any> | null; error: unknown }>
}

const runJson = async (file: string) => {
  const result = await Cli.run(["run", file, "--json"], opts())
  const summary = JSON.parse(result.stdout) as Summary
  assert.notInclude(result.stdout + result.stderr, "sk-test-not-a-secret", "the API key is never printed")
  const task = (id: string) => summary.tasks.find((t) => t.id === id)!
  return { code: result.code, stderr: result.stderr, summary, task }
}

const chain = [
  "name: LLM chain",
  "tasks:",
  "  - id: idea",
  "    method: llm/chat",
  "    parameters:",
  "      model: tiny-chat",
  "      messages: [{role: user, content: 'Give me a product idea'}]",
  "      max_tokens: 8",
  // Exactly 8 tokens: a random-weight model may otherwise end after one, and streaming needs several to show.
  "      options: {ignore_eos: true}",
  "  - id: pitch",
  "    method: llm/generate",
  "    dependencies: [idea]",
  "    parameters:",
  "      model: tiny-code",
  "      prompt: 'Write a pitch for: ${idea.response}'",
  "      max_tokens: 6",
  "  - id: vector",
  "    method: llm/embeddings",
  "    parameters:",
  "      model: tiny-embed",
  "      text: '${pitch.result.response}'",
  ""
].join("\n")

describe.each(["ollama", "openai"] as const)("gleitzeit run with a %s endpoint", (type) => {
  it("runs a chain passing ${t.response} from chat to completion to embedding", async () => {
    config(type)
    const { code, stderr, summary, task } = await runJson(write("chain.yaml", chain))
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(summary.status, "completed")
    const idea = task("idea").result!
    assert.strictEqual(idea.instance, `local-${type}`)
    assert.strictEqual(idea.model, "tiny-chat")
    assert.isTrue(idea.usage.completion_tokens > 0)
    assert.strictEqual(task("pitch").result!.model, "tiny-code")
    assert.strictEqual(task("vector").result!.embedding.length, 64)
  })

  it("fans three parallel analyses into one summary, and lists models", async () => {
    config(type)
    const analysis = (id: string) => [
      `  - id: ${id}`,
      "    method: llm/chat",
      "    parameters:",
      "      model: tiny-chat",
      `      messages: [{role: user, content: 'Analyse ${id}'}]`,
      "      max_tokens: 6"
    ]
    const file = write(
      "fanin.yaml",
      [
        "name: parallel analyses",
        "tasks:",
        ...analysis("market"),
        ...analysis("tech"),
        ...analysis("risk"),
        "  - id: summary",
        "    method: llm/chat",
        "    parameters:",
        "      model: tiny-chat",
        "      system: You summarise.",
        "      messages:",
        "        - role: user",
        "          content: 'Market: ${market.response}\\nTech: ${tech.response}\\nRisk: ${risk.response}'",
        "      max_tokens: 6",
        "  - id: models",
        "    method: llm/list_models",
        "    parameters: {}",
        ""
      ].join("\n")
    )
    const { code, stderr, task } = await runJson(file)
    assert.strictEqual(code, 0, stderr)
    for (const id of ["market", "tech", "risk", "summary"]) assert.strictEqual(task(id).status, "completed")
    const names = task("models").result!.models.map((m: { name: string }) => m.name)
    assert.includeMembers(names, ["tiny-chat", "tiny-code", "tiny-embed"])
  })
})

describe("gleitzeit run (LLM)", () => {
  it("runs vision on a PNG with the endpoint the workflow's providers block adds where the configuration grants it", async () => {
    write("gleitzeit.yaml", "grants:\n  llm_endpoints: ['http://127.0.0.1:*']\n")
    writeFileSync(join(ws.dir, "pixel.png"), png(16, 16))
    const file = write(
      "vision.yaml",
      [
        "name: vision",
        "providers:",
        "  ollama:",
        "    instances:",
        "      - id: pool-1",
        `        url: ${llm.url}`,
        "    load_balancing:",
        "      strategy: round_robin",
        "tasks:",
        "  - id: look",
        "    method: llm/vision",
        "    parameters:",
        "      model: tiny-chat",
        "      prompt: What is in this image?",
        `      image_path: ${join(ws.dir, "pixel.png")}`,
        "      max_tokens: 5",
        ""
      ].join("\n")
    )
    const { code, stderr, task } = await runJson(file)
    assert.strictEqual(code, 0, stderr)
    assert.strictEqual(task("look").result!.instance, "pool-1")
    assert.strictEqual(task("look").result!.message.role, "assistant")
  })

  it("shows streamed tokens live in the progress output", async () => {
    config("ollama")
    const result = await Cli.run(["run", write("chain.yaml", chain)], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    const tokenLines = result.stdout.split("\n").filter((line) => line.includes("idea │"))
    assert.isTrue(tokenLines.length >= 2, result.stdout)
    assert.isBelow(result.stdout.indexOf("idea │"), result.stdout.indexOf("✓ idea"))
  })

  it("fails the task with a typed error (not retried) for an unknown model, and exits non-zero", async () => {
    config("openai")
    const file = write(
      "unknown.yaml",
      [
        "name: unknown model",
        "tasks:",
        "  - id: ask",
        "    method: llm/chat",
        "    parameters: {model: no-such-model, messages: [{role: user, content: hi}]}",
        ""
      ].join("\n")
    )
    const { code, task } = await runJson(file)
    assert.notStrictEqual(code, 0)
    const failed = task("ask")
    assert.strictEqual(failed.status, "failed")
    assert.strictEqual(failed.attempts, 1)
    assert.include(JSON.stringify(failed.error), "no-such-model")
  })

  it("Ctrl-C during a streamed generation cancels the run and the server sees the stream aborted", async () => {
    config("ollama")
    await llm.reset()
    const file = write(
      "long.yaml",
      [
        "name: long generation",
        "tasks:",
        "  - id: essay",
        "    method: llm/chat",
        "    parameters:",
        "      model: tiny-chat",
        "      messages: [{role: user, content: 'Write forever'}]",
        "      max_tokens: 4000",
        "      options: {ignore_eos: true}",
        ""
      ].join("\n")
    )
    const running = Cli.start(["run", file], opts())
    const runId = (await running.waitFor(/▶ run (\w+)/))[1]!
    await running.waitFor(/essay │/)
    running.child.kill("SIGINT")
    const finished = await running.done
    assert.strictEqual(finished.code, 130)
    const stats = await llm.waitFor((s) => s.aborted === 1 && s.activeGenerations === 0)
    assert.deepInclude(stats.aborts[0], { endpoint: "POST /api/chat", streaming: true })
    assert.isBelow(stats.aborts[0]!.completionTokens, 4000)
    const status = await Cli.run(["status", runId, "--json"], opts())
    assert.strictEqual((JSON.parse(status.stdout) as { status: string }).status, "cancelled")
  })
})
