/**
 * The API's overhead as a number: submit-and-wait of a one-task run, 50 clients at once, through the HTTP API
 * (`POST /v1/runs`, then `GET /v1/runs/{id}/result`, from a separate client process) next to the same through the
 * library (`engine.execute`), on the same embedded engine and SQLite journal. CPU is the serving process's only.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpServer from "@effect/platform/HttpServer"
import { WorkflowLoader } from "@gleitzeit/core"
import { FnProvider, ProviderRegistry } from "@gleitzeit/providers"
import { ApiConfig, ApiServer, Embedded, Engine, WorkflowRegistry } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"

const RUNS = Number(process.env.API_RUNS ?? 2000)
const CLIENTS = Number(process.env.API_CLIENTS ?? 50)

const pct = (values: ReadonlyArray<number>, p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** Runs `node apiClient.js` against `url`: the wall time and every latency. */
const load = (url: string, runs: number, clients: number) =>
  new Promise<{ wallMs: number; latencies: Array<number> }>((resolve, reject) => {
    execFile(
      process.execPath,
      [join(import.meta.dirname, "apiClient.js"), url, String(runs), String(clients)],
      { maxBuffer: 64 * 1024 * 1024 },
      (
        error,
        stdout,
        stderr
      ) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout)))
    )
  })

/** The two rows: through the library and through the API. */
export const run = async (): Promise<ReadonlyArray<Record<string, string | number>>> => {
  const dir = mkdtempSync(join(tmpdir(), "gleitzeit-api-bench-"))
  const engine = Embedded.layer({
    filename: join(dir, "bench.db"),
    functions: [FnProvider.sync("noop", () => null)],
    concurrency: 256
  })
  const runtime = ManagedRuntime.make(
    ApiServer.layer.pipe(
      Layer.provideMerge(WorkflowRegistry.layer(undefined)),
      Layer.provideMerge(engine),
      Layer.provideMerge(ApiConfig.ApiConfig.layer({ port: 0 })),
      Layer.provideMerge(NodeContext.layer),
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  try {
    const address = (await runtime.runPromise(HttpServer.HttpServer)).address
    if (address._tag !== "TcpAddress") throw new Error("the API server is not on TCP")
    const url = `http://127.0.0.1:${address.port}`
    const e = await runtime.runPromise(Engine.Engine)
    const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
    const single = await runtime.runPromise(
      WorkflowLoader.fromObject(
        { name: "library-bench", tasks: [{ id: "t", method: "fn/noop", retry: 1 }] },
        { catalog: ProviderRegistry.catalogOf(registry) }
      ).pipe(Effect.map((l) => l.workflow), Effect.orDie)
    )
    const library = async (runs: number) => {
      const latencies: Array<number> = []
      let next = 0
      const t0 = performance.now()
      await Promise.all(Array.from({ length: CLIENTS }, async () => {
        while (next < runs) {
          next++
          const s = performance.now()
          const outcome = await runtime.runPromise(e.execute(single))
          if (outcome.status !== "completed") throw new Error(`library run ${outcome.runId}: ${outcome.status}`)
          latencies.push(performance.now() - s)
        }
      }))
      return { wallMs: performance.now() - t0, latencies }
    }
    // Warm-up (not measured), both ways.
    await library(200)
    await load(url, 200, CLIENTS)

    const rows: Array<Record<string, string | number>> = []
    for (
      const [name, measure] of [["library: engine.execute", library], [
        "API: POST /v1/runs + GET …/result",
        (n: number) => load(url, n, CLIENTS)
      ]] as const
    ) {
      const c0 = cpuMs()
      const { latencies, wallMs } = await measure(RUNS)
      const cpu = cpuMs() - c0
      rows.push({
        workload: `${name} (${CLIENTS} clients)`,
        "runs/s": Math.round(RUNS / (wallMs / 1000)),
        "p50 ms": +pct(latencies, 50).toFixed(2),
        "p99 ms": +pct(latencies, 99).toFixed(2),
        "server cpu ms/run": +(cpu / RUNS).toFixed(3)
      })
    }
    return rows
  } finally {
    await runtime.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Prints the table. */
export const print = (rows: ReadonlyArray<Record<string, string | number>>) => {
  const cols = ["workload", "runs/s", "p50 ms", "p99 ms", "server cpu ms/run"]
  const cell = (r: Record<string, string | number>, c: string) => String(r[c] ?? "-")
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)))
  const line = (vals: Array<string>) => "| " + vals.map((v, i) => v.padEnd(widths[i]!)).join(" | ") + " |"
  console.log(`\nSubmit-and-wait of a one-task run: the library next to the HTTP API (${RUNS} runs each)`)
  console.log(line(cols))
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|")
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))))
}
