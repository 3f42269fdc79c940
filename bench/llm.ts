/**
 * `npm run build && node bench/dist/llm.js`: the per-call overhead Gleitzeit adds on top of an LLM server. The
 * same streamed Ollama `/api/chat` call (tiny-chat, 4 tokens, fixed seed) is made N times directly with undici and
 * N times as a one-task `llm/chat` workflow on the embedded engine (SQLite journal, WAL, every transition and every
 * streamed token journaled), interleaved; prints p50/p95 of both and the p50 difference.
 *
 * The server is `LLM_URL` when set (an Ollama base URL serving tiny-chat), else the test LLM server bundle the LLM
 * tests leave in node_modules/.cache/gleitzeit-llm (run `npx vitest run test/llm-server.integration.test.ts` once).
 */
import { WorkflowLoader } from "@gleitzeit/core"
import { LlmProvider, ProviderRegistry } from "@gleitzeit/providers"
import { Embedded, Engine } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { performance } from "node:perf_hooks"
import { Agent } from "undici"

const N = Number(process.env.N ?? 60)
const root = resolve(import.meta.dirname, "../..")

const pct = (values: Array<number>, p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

/** Starts the bundled test server; resolves with its URL and process. */
const startServer = (): Promise<{ url: string; child?: ChildProcess }> => {
  if (process.env.LLM_URL !== undefined) return Promise.resolve({ url: process.env.LLM_URL })
  const dir = join(root, "node_modules", ".cache", "gleitzeit-llm")
  const bundles = readdirSync(dir).filter((f) => /^server-.*\.mjs$/.test(f))
    .sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs)
  if (bundles.length === 0) {
    throw new Error(`no test LLM server bundle in ${dir}: run the LLM tests once, or set LLM_URL`)
  }
  const args = [join(dir, bundles[0]!), "--models", "tiny-chat", "--port", "0", "--exit-with-stdin"]
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"]
  })
  return new Promise((ok, fail) => {
    let out = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const match = /LISTENING (\d+)/.exec(out)
      if (match) ok({ url: `http://127.0.0.1:${match[1]}`, child })
    })
    child.on("exit", (code) => fail(new Error(`the LLM test server (node-llama-cpp) exited (${code})`)))
  })
}

const main = async () => {
  const server = await startServer()
  const dir = mkdtempSync(join(tmpdir(), "gleitzeit-bench-llm-"))
  const agent = new Agent({ connections: 4, keepAliveTimeout: 10_000 })
  const runtime = ManagedRuntime.make(
    Embedded.layer({
      filename: join(dir, "journal.db"),
      providers: LlmProvider.layerConfig({
        endpoints: [{ name: "bench", type: "ollama", url: server.url, weight: 1, priority: 0, tags: [] }]
      })
    }).pipe(Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)))
  )
  try {
    const messages = [{ role: "user", content: "hello" }]
    const direct = async () => {
      const response = await agent.request({
        origin: server.url,
        path: "/api/chat",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "tiny-chat", messages, options: { num_predict: 4, seed: 1 }, stream: true })
      })
      const text = await response.body.text()
      if (!text.includes("\"done\":true")) throw new Error(`unexpected answer: ${text}`)
    }
    const engine = await runtime.runPromise(Engine.Engine)
    const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
    const workflow = await runtime.runPromise(
      WorkflowLoader.fromObject({
        name: "one llm call",
        tasks: [{
          id: "chat",
          method: "llm/chat",
          params: { model: "tiny-chat", messages, max_tokens: 4, seed: 1, stream: process.env.STREAM !== "0" }
        }]
      }, { catalog: registry.catalog() }).pipe(Effect.map((l) => l.workflow), Effect.orDie)
    )
    const viaGleitzeit = async () => {
      const outcome = await runtime.runPromise(engine.execute(workflow))
      if (outcome.status !== "completed") throw new Error(`run ${outcome.status}`)
    }
    const resolved = registry.lookup("llm/chat")!
    const decoded = { model: "tiny-chat", messages, max_tokens: 4, seed: 1 }
    const ctx = { runId: "bench", taskId: "chat", attempt: 1, idempotencyKey: "bench", emit: () => Effect.void }
    const viaProvider = async () => {
      await runtime.runPromise(resolved.provider.execute(resolved.method, decoded, ctx))
    }
    for (let i = 0; i < 10; i++) {
      await direct()
      await viaProvider()
      await viaGleitzeit()
    }
    const directMs: Array<number> = []
    const providerMs: Array<number> = []
    const gleitzeitMs: Array<number> = []
    const time = async (f: () => Promise<void>, into: Array<number>) => {
      const t0 = performance.now()
      await f()
      into.push(performance.now() - t0)
    }
    for (let i = 0; i < N; i++) {
      await time(direct, directMs)
      await time(viaProvider, providerMs)
      await time(viaGleitzeit, gleitzeitMs)
    }
    const row = (name: string, ms: Array<number>) => ({
      call: name,
      "p50 ms": +pct(ms, 50).toFixed(2),
      "p95 ms": +pct(ms, 95).toFixed(2)
    })
    console.table([
      row("direct HTTP (undici)", directMs),
      row("LlmProvider.execute (no engine)", providerMs),
      row("one-task llm/chat workflow", gleitzeitMs)
    ])
    const overhead = pct(gleitzeitMs, 50) - pct(directMs, 50)
    console.log(`overhead per call (p50 difference): ${overhead.toFixed(2)} ms over ${N} calls`)
  } finally {
    await runtime.dispose()
    await agent.destroy()
    server.child?.kill("SIGTERM")
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
