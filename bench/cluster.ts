/**
 * `npm run bench -- --cluster N`: the foundation workloads on a cluster of 1…N `gleitzeit node` processes sharing
 * PostgreSQL, submitted through a client (`Cluster.layerClient`), each result checked; then, with N ≥ 2, a failover
 * measurement (see clusterFailover.ts). A fresh database and fresh node processes per cluster size.
 *
 *   W1  N1 (2,000) independent `mcp/tool.add` tasks in one run
 *   W2  N2 (200) diamonds a → (b ‖ c) → d of demo tools with references, all submitted at once
 *
 * Times come from the journal (`runs.created_at` → `runs.finished_at`): the client learns of a run's end by polling
 * the journal every 250 ms, which would blur them. CPU is summed over every process involved: the nodes and the
 * PostgreSQL backends of the bench database from /proc, the client from `process.cpuUsage()`.
 */
import type { Workflow } from "@gleitzeit/core"
import { availableParallelism, loadavg } from "node:os"
import { performance } from "node:perf_hooks"
import * as ClusterDb from "./clusterDb.js"
import * as ClusterFailover from "./clusterFailover.js"
import * as ClusterSession from "./clusterSession.js"
import * as Cpu from "./cpu.js"

const N1 = Number(process.env.N1 ?? 2000)
const N2 = Number(process.env.N2 ?? 200)
const CONCURRENCY = Number(process.env.NODE_CONCURRENCY ?? 256)
const ONLY = (process.env.ONLY ?? "w1,w2,failover").split(",")
const RUN_TIMEOUT_MS = 300_000

type Row = Record<string, string | number>

const pct = (values: ReadonlyArray<number>, p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? Number.NaN
}
const check = (cond: boolean, message: string) => {
  if (!cond) throw new Error(`check failed: ${message}`)
}

const wide = (name: string, n: number) => ({
  name,
  tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, method: "mcp/tool.add", params: { a: i, b: 1 } }))
})
const diamond = (name: string, x: number) => ({
  name,
  tasks: [
    { id: "a", method: "mcp/tool.add", params: { a: x, b: 1 } },
    { id: "b", method: "mcp/tool.multiply", params: { a: "${a.result}", b: 2 } },
    { id: "c", method: "mcp/tool.multiply", params: { a: "${a.result}", b: 3 } },
    { id: "d", method: "mcp/tool.add", params: { a: "${b.result}", b: "${c.result}" } }
  ],
  outputs: { value: "${d.result}" }
})

/** CPU times of every process of a bench cluster at one moment. */
interface CpuSnapshot {
  readonly host: number
  readonly nodes: Cpu.Sample
  readonly client: number
  readonly database: Cpu.Sample
}

const snapshot = async (
  session: ClusterSession.Session,
  serverPids: ReadonlyArray<number>,
  known: Iterable<number> = []
): Promise<CpuSnapshot> => {
  const host = Cpu.hostBusyMs()
  const nodes = Cpu.sample(session.nodes.map((node) => node.pid))
  const client = Cpu.selfCpuMs()
  const backends = await session.probe.backendPids()
  return { host, nodes, client, database: Cpu.sample(new Set([...known, ...backends, ...serverPids])) }
}

/** Measures `work` (which executes `tasks` tasks) with CPU over all processes, and its journal times. */
const measured = async (
  session: ClusterSession.Session,
  serverPids: ReadonlyArray<number>,
  name: string,
  tasks: number,
  work: () => Promise<void>
): Promise<Row> => {
  const before: CpuSnapshot = await snapshot(session, serverPids)
  const t0 = performance.now()
  await work()
  const clientMs = performance.now() - t0
  const after: CpuSnapshot = await snapshot(session, serverPids, before.database.keys())
  const cpu = {
    nodes: Cpu.used(before.nodes, after.nodes),
    client: after.client - before.client,
    database: Cpu.used(before.database, after.database)
  }
  const runs = await session.probe.query((sql) => sql`SELECT created_at, finished_at FROM runs WHERE name = ${name}`)
  const created = runs.map((r) => Number(r.created_at))
  const latencies = runs.map((r) => Number(r.finished_at) - Number(r.created_at))
  const spanMs = Math.max(...runs.map((r) => Number(r.finished_at))) - Math.min(...created)
  const perTask = (ms: number) => +(ms / tasks).toFixed(3)
  return {
    "tasks/s": Math.round(tasks / (spanMs / 1000)),
    "workflows/s": runs.length > 1 ? Math.round(runs.length / (spanMs / 1000)) : "-",
    "p50 ms": runs.length > 1 ? Math.round(pct(latencies, 50)) : "-",
    "p99 ms": runs.length > 1 ? Math.round(pct(latencies, 99)) : "-",
    "span ms": Math.round(spanMs),
    "client ms": Math.round(clientMs),
    "cpu ms/task": perTask(cpu.nodes + cpu.client + cpu.database),
    "· nodes": perTask(cpu.nodes),
    "· client": perTask(cpu.client),
    "· db": perTask(cpu.database),
    // Whatever else kept the host busy meanwhile: a large figure means the numbers above suffered contention.
    "others ms": Math.max(0, Math.round(after.host - before.host - cpu.nodes - cpu.client - cpu.database))
  }
}

/**
 * Warms the cluster up (not measured) until every node has executed attempts: shards are spread over the nodes
 * shortly after they join, and the JIT sees the hot paths. Returns a note when some node never got work.
 */
const warmUp = async (session: ClusterSession.Session): Promise<string | undefined> => {
  const { client, probe, nodes } = session
  const deadline = performance.now() + 60_000
  for (;;) {
    await client.execute(await client.load(wide("warmup", 300)), RUN_TIMEOUT_MS)
    const diamonds = await Promise.all(Array.from({ length: 20 }, (_, x) => client.load(diamond("warmup", x))))
    await Promise.all(diamonds.map((wf) => client.execute(wf, RUN_TIMEOUT_MS)))
    const served = new Set((await probe.attemptsByNode("warmup")).map((s) => s.node))
    const idle = nodes.filter((node) => !served.has(node.name)).map((node) => node.name)
    if (idle.length === 0) return undefined
    if (performance.now() > deadline) return `after 60 s of warm-up, ${idle.join(", ")} had executed no attempt`
  }
}

/** A measured workload: its table row and where its attempts (and runs) went. */
interface Measurement {
  readonly row: Row
  readonly spread: string
}

/** W1: one run of N1 independent tasks. */
const measureW1 = async (n: number, session: ClusterSession.Session, serverPids: ReadonlyArray<number>) => {
  const { client, probe } = session
  const w1 = await client.load(wide("w1", N1))
  let runId = ""
  const measurement = await measured(session, serverPids, "w1", N1, async () => {
    const outcome = await client.execute(w1, RUN_TIMEOUT_MS)
    check(outcome.status === "completed", `W1 status ${outcome.status}`)
    runId = outcome.runId
  })
  const [done] = await probe.query((sql) =>
    sql`SELECT count(*)::int AS n FROM tasks WHERE run_id = ${runId} AND status = 'completed'`
  )
  check(Number(done?.n) === N1, `W1 completed tasks ${done?.n} of ${N1}`)
  return {
    row: { nodes: n, workload: `W1 ${N1} tasks in one run`, ...measurement },
    spread: `${n} node(s) W1 attempts by node: ${ClusterDb.formatSpread(await probe.attemptsByNode("w1"))}`
  }
}

/** W2: N2 diamonds submitted at once, each checked for its value. */
const measureW2 = async (n: number, session: ClusterSession.Session, serverPids: ReadonlyArray<number>) => {
  const { client, probe } = session
  const w2: Array<Workflow.Workflow> = await Promise.all(
    Array.from({ length: N2 }, (_, x) => client.load(diamond("w2", x)))
  )
  const measurement = await measured(session, serverPids, "w2", N2 * 4, async () => {
    await Promise.all(w2.map(async (wf, x) => {
      const outcome = await client.execute(wf, RUN_TIMEOUT_MS)
      check(outcome.status === "completed", `W2 ${x} ${outcome.status}`)
      check((outcome.outputs as { value?: unknown }).value === 5 * (x + 1), `W2 ${x} value`)
    }))
  })
  return {
    row: { nodes: n, workload: `W2 ${N2} diamonds at once`, ...measurement },
    spread: `${n} node(s) W2 attempts by node: ${ClusterDb.formatSpread(await probe.attemptsByNode("w2"))}; ` +
      `runs by coordinator node: ${ClusterDb.formatSpread(await probe.runsByOwner("w2"))}`
  }
}

/** The workloads on a fresh cluster of `n` nodes, after a warm-up. */
const measureCluster = (n: number) =>
  ClusterSession.withCluster(`${n}n`, n, { concurrency: CONCURRENCY }, async (session) => {
    const note = await warmUp(session)
    const serverPids = (await session.probe.serverProcesses()).map((p) => p.pid)
    const measurements: Array<Measurement> = []
    if (ONLY.includes("w1")) measurements.push(await measureW1(n, session, serverPids))
    if (ONLY.includes("w2")) measurements.push(await measureW2(n, session, serverPids))
    return {
      rows: measurements.map((m) => m.row),
      spread: [...measurements.map((m) => m.spread), ...(note === undefined ? [] : [`${n} node(s): ${note}`])]
    }
  })

const printTable = (rows: ReadonlyArray<Row>, cols: ReadonlyArray<string>) => {
  const cell = (r: Row, c: string) => String(r[c] ?? "-")
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)))
  const line = (vals: ReadonlyArray<string>) => "| " + vals.map((v, i) => v.padEnd(widths[i]!)).join(" | ") + " |"
  console.log(line(cols))
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|")
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))))
}

/**
 * Runs the cluster bench for 1…maxNodes nodes, prints the table, then (maxNodes ≥ 2) the failover measurement.
 * `ONLY=w1,w2,failover` picks parts.
 */
export const run = async (maxNodes: number): Promise<void> => {
  if (ONLY.includes("w1") || ONLY.includes("w2")) await throughput(maxNodes)
  if (maxNodes >= 2 && ONLY.includes("failover")) {
    ClusterFailover.print(await ClusterFailover.measure(maxNodes, { concurrency: CONCURRENCY }))
  }
}

/** W1 and W2 on clusters of 1…maxNodes nodes, printed as a table. */
const throughput = async (maxNodes: number) => {
  const load = loadavg()[0]!.toFixed(2)
  const rows: Array<Row> = []
  const spread: Array<string> = []
  for (let n = 1; n <= maxNodes; n++) {
    console.error(`… cluster of ${n} node(s)`)
    const result = await measureCluster(n)
    rows.push(...result.rows)
    spread.push(...result.spread)
  }
  const serverProcesses = "checkpointer, background writer, WAL writer, autovacuum launcher"
  console.log(
    `\nGleitzeit cluster — 1…${maxNodes} \`gleitzeit node\` processes (--concurrency ${CONCURRENCY}) + 1 client ` +
      `process, PostgreSQL at ${ClusterDb.server}, all on one host with ${availableParallelism()} CPUs ` +
      `(load average ${load} at the start)`
  )
  printTable(rows, [
    "nodes",
    "workload",
    "tasks/s",
    "workflows/s",
    "p50 ms",
    "p99 ms",
    "span ms",
    "client ms",
    "cpu ms/task",
    "· nodes",
    "· client",
    "· db",
    "others ms"
  ])
  console.log(
    "tasks/s, workflows/s, p50/p99 (per run) and span: journal times, first run created → last run finished.\n" +
      "client ms: until the client saw every end (it polls the journal every 250 ms).\n" +
      "cpu ms/task: node processes + client process + db, split in the last three columns; db = the PostgreSQL\n" +
      "backends serving the bench database (pg_stat_activity, before and after) + the server's\n" +
      `${serverProcesses}, which serve every database on the server.\n` +
      "others ms: CPU the host spent on other processes during the measurement (/proc/stat busy − the above)."
  )
  for (const line of spread) console.log(`  ${line}`)
}
