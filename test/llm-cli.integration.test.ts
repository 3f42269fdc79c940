/**
 * LLM workflows in the predecessor's style run end to end by the `gleitzeit` binary against the test LLM server
 * (node-llama-cpp): chains passing `${t.response}`, parallel analyses fanning in, vision on a generated PNG, over
 * the Ollama and the OpenAI-compatible API, configured by gleitzeit.yaml or by the workflow's `providers` block.
 */
import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { Printer } from "@gleitzeit/cli"
import { spawn } from "node:child_process"
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

/** One chat streaming 40 tokens (random weights: the text is noise, the stream is real). */
const longIdea = [
  "name: long idea",
  "tasks:",
  "  - id: idea",
  "    name: Long idea",
  "    method: llm/chat",
  "    parameters:",
  "      model: tiny-chat",
  "      messages: [{role: user, content: 'Describe a product idea at length'}]",
  "      max_tokens: 40",
  "      options: {ignore_eos: true}",
  ""
].join("\n")

/** A text as the CLI prints streamed output: one line per line, escaped, no trailing empty line. */
const asLines = (text: string) => {
  const lines = text.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return lines.map((line) => Printer.escape(line.replace(/\r$/, "")))
}

/** Runs the CLI on a pseudo-terminal (util-linux `script`), 100 columns wide; returns what the terminal received. */
const inTerminal = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    const command = ["stty cols 100 rows 40;", "exec", process.execPath, Cli.bin, ...args]
      .map((part, i) => (i < 2 ? part : `'${part.replace(/'/g, "'\\''")}'`)).join(" ")
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: ws.dir,
      env: { ...process.env, GLEITZEIT_DATABASE: ws.db, TERM: "xterm" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("close", (code) => resolve({ code, output }))
  })

/** The escape character that starts terminal control sequences. */
const ESC = String.fromCharCode(27)

/** What a terminal shows at the end of `output`: lines with the live region's redraws applied. */
const render = (output: string): string => {
  const screen: Array<string> = []
  let row = 0
  for (const part of output.replace(/\r\n/g, "\n").split(new RegExp(`(${ESC}\\[\\d*[AJ]|\\n|\\r)`))) {
    const up = new RegExp(`^${ESC}\\[(\\d*)A$`).exec(part)
    if (up !== null) row = Math.max(0, row - Number(up[1] || 1))
    else if (part === "\u001b[J") screen.length = row
    else if (part === "\n") row++
    else if (part === "\r" || part === "") continue
    else screen[row] = (screen[row] ?? "") + part
  }
  return screen.join("\n")
}

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

  it("without a terminal, progress is plain lines: streamed text only with --verbose, as text, never a line per token", async () => {
    config("ollama")
    const file = write("long-idea.yaml", longIdea)
    const plain = await Cli.run(["run", file], opts())
    assert.strictEqual(plain.code, 0, plain.stderr)
    assert.notInclude(plain.stdout, "\u001b[", "no ANSI codes without a terminal")
    assert.notInclude(plain.stdout, "idea │", "streamed text is not printed without --verbose")
    assert.match(plain.stdout, /→ idea \(Long idea\) llm\/chat\n/)
    assert.match(plain.stdout, /✓ idea /)

    const verbose = await Cli.run(["run", file, "--verbose"], opts())
    assert.strictEqual(verbose.code, 0, verbose.stderr)
    const runId = verbose.stdout.match(/▶ run (\w+)/)![1]!
    const response = (JSON.parse((await Cli.run(["status", runId, "--json"], opts())).stdout) as Summary).tasks[0]!
      .result!.response as string
    const lines = verbose.stdout.split("\n")
    const streamed = lines.filter((line) => line.startsWith("    idea │ ")).map((line) =>
      line.slice("    idea │ ".length)
    )
    assert.deepStrictEqual(streamed, asLines(response), "the streamed text, line by line")
    assert.isBelow(streamed.length, 40, "40 tokens are not 40 lines")
    assert.isBelow(
      lines.findLastIndex((line) => line.startsWith("    idea │ ")),
      lines.findIndex((l) => l.includes("✓ idea"))
    )
  })

  it("on a terminal, a live region shows running tasks with elapsed time and tokens/s above the finished ones", async () => {
    config("ollama")
    const file = write("long-idea.yaml", longIdea)
    const tty = await inTerminal(["run", file])
    assert.strictEqual(tty.code, 0, tty.output)
    assert.match(tty.output, new RegExp(`${ESC}\\[\\d+A\\r${ESC}\\[J`), "the region is redrawn in place")
    assert.match(
      tty.output,
      /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] idea \(Long idea\) llm\/chat {2}\d+(\.\d)? m?s {2}\d+ tok {2}[\d.]+ tok\/s {2}│ /
    )
    const screen = render(tty.output)
    assert.match(screen, /✓ idea /)
    assert.match(screen, /✔ run \w+ completed/)
    assert.notMatch(screen, /tok\/s/, "the region is gone once the run ended")
  })

  it("gleitzeit result prints a whole result that progress cut short", async () => {
    config("ollama")
    const run = await Cli.run(["run", write("long-idea.yaml", longIdea)], opts())
    const runId = run.stdout.match(/▶ run (\w+)/)![1]!
    assert.include(run.stdout, `(a whole result: gleitzeit result ${runId} TASK)`)
    const status = JSON.parse((await Cli.run(["status", runId, "--json"], opts())).stdout) as Summary
    const response = status.tasks[0]!.result!.response as string
    assert.isAbove(response.length, 60)
    const byId = await Cli.run(["result", runId, "idea"], opts())
    assert.strictEqual(byId.code, 0, byId.stderr)
    assert.include(byId.stdout, asLines(response).join("\n  ").slice(0, 200))
    const asJson = await Cli.run(["result", runId, "idea", "--json"], opts())
    assert.deepStrictEqual(JSON.parse(asJson.stdout), status.tasks[0]!.result)
    const byName = await Cli.run(["result", runId, "Long idea"], opts())
    assert.strictEqual(byName.stdout, byId.stdout)
    const unknown = await Cli.run(["result", runId, "nope"], opts())
    assert.strictEqual(unknown.code, 3)
    assert.include(unknown.stderr, `run ${runId} has no task 'nope' (tasks: idea)`)
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
    await running.waitFor(/→ essay/)
    await llm.waitFor((s) => s.activeGenerations === 1)
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
