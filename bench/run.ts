/**
 * `npm run bench`: the foundation workloads on the embedded engine with durability on (SQLite journal, WAL,
 * every transition journaled), each result checked. Prints a table.
 *
 *   W1  2,000 independent no-op fn tasks, submitted at once (as one run of 2,000 tasks, and as 2,000 one-task runs)
 *   W2  200 diamond workflows s1 → (s2 ‖ s3) → s4 → s5 with references, all started at once
 *   W3  a 3-step chain (x+1 → ·2 → +3) run 100 times serially
 *   API submit-and-wait of a one-task run by 50 clients, through the HTTP API next to the library (api.ts)
 *
 * `npm run bench -- --cluster N`: the cluster bench instead, on 1…N node processes over PostgreSQL (cluster.ts).
 */
import { type Workflow, WorkflowLoader } from "@gleitzeit/core"
import { FnProvider, ProviderRegistry } from "@gleitzeit/providers"
import { Embedded, Engine } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"

const N1 = Number(process.env.N1 ?? 2000)
const N2 = Number(process.env.N2 ?? 200)
const N3 = Number(process.env.N3 ?? 100)
const ONLY = (process.env.ONLY ?? "w1a,w1b,w2,w3,api").split(",")

const num = (p: { readonly [k: string]: unknown }, k: string) => Number(p[k])
const functions = [
  FnProvider.sync("noop", () => null),
  FnProvider.sync("inc", (p) => num(p, "x") + 1),
  FnProvider.sync("mul", (p) => num(p, "x") * num(p, "k")),
  FnProvider.sync("sum", (p) => num(p, "a") + num(p, "b")),
  FnProvider.sync("add", (p) => num(p, "x") + num(p, "k"))
]

const pct = (values: Array<number>, p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const check = (cond: boolean, message: string) => {
  if (!cond) throw new Error(`check failed: ${message}`)
}

/** Runs the workloads the way the peers' harness does: plain promises over a runtime built once. */
const main = async (filename: string) => {
  const runtime = ManagedRuntime.make(
    Embedded.layer({ filename, functions, concurrency: 256 }).pipe(
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  try {
    const engine = await runtime.runPromise(Engine.Engine)
    const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
    const load = (doc: unknown) =>
      runtime.runPromise(
        WorkflowLoader.fromObject(doc, { catalog: registry.catalog() }).pipe(
          Effect.map((l) => l.workflow),
          Effect.orDie
        )
      )
    const execute = (wf: Workflow.Workflow) => runtime.runPromise(engine.execute(wf))

    const wide = (n: number) =>
      load({ name: "w1", tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, method: "fn/noop", retry: 1 })) })
    const single = await load({ name: "w1-single", tasks: [{ id: "t", method: "fn/noop", retry: 1 }] })
    const diamond = (x: number) =>
      load({
        name: "diamond",
        tasks: [
          { id: "s1", method: "fn/inc", params: { x } },
          { id: "s2", method: "fn/mul", params: { x: "${s1}", k: 2 } },
          { id: "s3", method: "fn/mul", params: { x: "${s1}", k: 3 } },
          { id: "s4", method: "fn/sum", params: { a: "${s2}", b: "${s3}" } },
          { id: "s5", method: "fn/inc", params: { x: "${s4}" } }
        ],
        outputs: { value: "${s5}" }
      })
    const chain = (x: number) =>
      load({
        name: "chain",
        tasks: [
          { id: "c1", method: "fn/inc", params: { x } },
          { id: "c2", method: "fn/mul", params: { x: "${c1}", k: 2 } },
          { id: "c3", method: "fn/add", params: { x: "${c2}", k: 3 } }
        ],
        outputs: { value: "${c3}" }
      })
    const w1b = async (n: number) => {
      const ids = await Promise.all(Array.from({ length: n }, () => runtime.runPromise(engine.submit(single))))
      return Promise.all(ids.map((id) => runtime.runPromise(engine.wait(id))))
    }

    const rows: Array<Record<string, string | number>> = []

    // Warm-up (not measured): a small version of each workload, so the JIT has seen the hot paths.
    await execute(await wide(500))
    await w1b(100)
    await Promise.all((await Promise.all(Array.from({ length: 20 }, (_, x) => diamond(x)))).map(execute))
    for (let i = 0; i < 10; i++) await execute(await chain(i))

    if (ONLY.includes("w1a")) {
      const wf = await wide(N1)
      const c0 = cpuMs()
      const t0 = performance.now()
      const outcome = await execute(wf)
      const ms = performance.now() - t0
      const cpu = cpuMs() - c0
      check(outcome.status === "completed", `W1a status ${outcome.status}`)
      rows.push({
        workload: `W1a ${N1} tasks in one run`,
        "tasks/s": Math.round(N1 / (ms / 1000)),
        "cpu ms/task": +(cpu / N1).toFixed(3),
        "total ms": Math.round(ms)
      })
    }
    if (ONLY.includes("w1b")) {
      const c0 = cpuMs()
      const t0 = performance.now()
      const outcomes = await w1b(N1)
      const ms = performance.now() - t0
      const cpu = cpuMs() - c0
      check(outcomes.every((o) => o.status === "completed"), "W1b all completed")
      rows.push({
        workload: `W1b ${N1} one-task runs`,
        "tasks/s": Math.round(N1 / (ms / 1000)),
        "cpu ms/task": +(cpu / N1).toFixed(3),
        "total ms": Math.round(ms)
      })
    }
    if (ONLY.includes("w2")) {
      const wfs = await Promise.all(Array.from({ length: N2 }, (_, x) => diamond(x)))
      const lats: Array<number> = []
      const c0 = cpuMs()
      const t0 = performance.now()
      await Promise.all(wfs.map(async (wf, x) => {
        const s = performance.now()
        const outcome = await execute(wf)
        lats.push(performance.now() - s)
        check(outcome.status === "completed", `W2 ${x} ${outcome.status}`)
        check((outcome.outputs as { value: number }).value === 5 * (x + 1) + 1, `W2 ${x} value`)
      }))
      const ms = performance.now() - t0
      const cpu = cpuMs() - c0
      rows.push({
        workload: `W2 ${N2} diamonds at once`,
        "tasks/s": Math.round((N2 * 5) / (ms / 1000)),
        "workflows/s": Math.round(N2 / (ms / 1000)),
        "cpu ms/task": +(cpu / (N2 * 5)).toFixed(3),
        "p50 ms": +pct(lats, 50).toFixed(2),
        "p99 ms": +pct(lats, 99).toFixed(2),
        "total ms": Math.round(ms)
      })
    }
    if (ONLY.includes("w3")) {
      const lats: Array<number> = []
      const c0 = cpuMs()
      for (let x = 0; x < N3; x++) {
        const wf = await chain(x)
        const s = performance.now()
        const outcome = await execute(wf)
        lats.push(performance.now() - s)
        check((outcome.outputs as { value: number }).value === 2 * (x + 1) + 3, `W3 ${x} value`)
      }
      const cpu = cpuMs() - c0
      rows.push({
        workload: `W3 ${N3} serial 3-step chains`,
        "cpu ms/task": +(cpu / (N3 * 3)).toFixed(3),
        "p50 ms": +pct(lats, 50).toFixed(2),
        "p99 ms": +pct(lats, 99).toFixed(2),
        "total ms": Math.round(lats.reduce((a, b) => a + b, 0))
      })
    }
    return rows
  } finally {
    await runtime.dispose()
  }
}

/** The embedded bench: the workloads on a SQLite journal in a scratch directory, printed as a table. */
const embedded = () => {
  const dir = mkdtempSync(join(tmpdir(), "gleitzeit-bench-"))
  main(join(dir, "bench.db")).then((rows) => {
    const cols = ["workload", "tasks/s", "workflows/s", "cpu ms/task", "p50 ms", "p99 ms", "total ms"]
    const cell = (r: Record<string, string | number>, c: string) => String(r[c] ?? "-")
    const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)))
    const line = (vals: Array<string>) => "| " + vals.map((v, i) => v.padEnd(widths[i]!)).join(" | ") + " |"
    console.log(`\nGleitzeit embedded engine — SQLite journal (WAL, synchronous=NORMAL), every transition journaled`)
    console.log(line(cols))
    console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|")
    for (const r of rows) console.log(line(cols.map((c) => cell(r, c))))
    rmSync(dir, { recursive: true, force: true })
    // The API's overhead, on its own runtime (loaded only when asked for).
    return ONLY.includes("api") ? import("./api.js").then(async (Api) => Api.print(await Api.run())) : undefined
  }).catch((error) => {
    console.error(error)
    rmSync(dir, { recursive: true, force: true })
    process.exit(1)
  })
}

/** `--cluster N` (or `--cluster=N`): the cluster bench with 1…N nodes instead (see cluster.ts). */
const clusterArg = (() => {
  const i = process.argv.findIndex((a) => a === "--cluster" || a.startsWith("--cluster="))
  if (i < 0) return undefined
  const arg = process.argv[i]!
  return Number(arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : process.argv[i + 1] ?? 3)
})()

if (clusterArg === undefined) embedded()
else if (!Number.isInteger(clusterArg) || clusterArg < 1) {
  console.error("--cluster N: N must be a whole number ≥ 1 (the largest cluster measured)")
  process.exit(2)
} else {
  // Loaded only here, so the embedded bench runs exactly as before.
  import("./cluster.js").then((Cluster) => Cluster.run(clusterArg)).then(() => process.exit(0), (error) => {
    console.error(error)
    process.exit(1)
  })
}
