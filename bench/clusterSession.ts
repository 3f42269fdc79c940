/**
 * One bench cluster from start to end: a fresh database, a client (which migrates the tables), `n` node processes
 * started at once and awaited (their ready line, then a one-task run through the client), the measurement, and the
 * teardown in every case: nodes stopped by PID, client and probe closed, database dropped. When the measurement
 * fails, the nodes' logs are printed and kept (`BENCH_KEEP_LOGS=1` keeps them always).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ClusterClient from "./clusterClient.js"
import * as ClusterDb from "./clusterDb.js"
import * as ClusterNodes from "./clusterNodes.js"

/** Settings of the node processes. */
export interface SessionSettings {
  /** Task attempts at once per node. */
  readonly concurrency: number
}

/** A running bench cluster. */
export interface Session {
  readonly database: ClusterDb.Database
  readonly client: ClusterClient.Client
  readonly probe: ClusterDb.Probe
  /** Node processes `n1`…`nN`. */
  readonly nodes: ReadonlyArray<ClusterNodes.NodeProcess>
}

/** Runs one teardown step; a failure is reported and the next steps still run. */
const cleanup = async (what: string, step: () => Promise<unknown> | undefined) => {
  try {
    await step()
  } catch (error) {
    console.error(`✘ ${what} failed:`, error)
  }
}

/** `BENCH_KEEP_LOGS=1` keeps the nodes' logs of successful measurements too. */
const keepLogs = process.env.BENCH_KEEP_LOGS === "1"

const suffix = Math.random().toString(36).slice(2, 8)

/** Runs `body` on a fresh cluster of `n` nodes (database `gz_bench_<random>_<label>`), then tears it all down. */
export const withCluster = async <A>(
  label: string,
  n: number,
  settings: SessionSettings,
  body: (session: Session) => Promise<A>
): Promise<A> => {
  const dir = mkdtempSync(join(tmpdir(), `gleitzeit-cluster-bench-${label}-`))
  const database = await ClusterDb.create(`gz_bench_${suffix}_${label}`)
  const nodes: Array<ClusterNodes.NodeProcess> = []
  let client: ClusterClient.Client | undefined
  let probe: ClusterDb.Probe | undefined
  let failed = false
  try {
    client = await ClusterClient.make(database.url)
    probe = ClusterDb.probe(database.url)
    ClusterNodes.writeConfig(dir, database.url)
    const nodeSettings = { dir, concurrency: settings.concurrency, drainTimeoutSeconds: 5, readyTimeoutMs: 60_000 }
    for (let i = 1; i <= n; i++) {
      nodes.push(ClusterNodes.start(`n${i}`, await ClusterNodes.freePort(), nodeSettings))
    }
    await Promise.all(nodes.map((node) => node.ready))
    const ping = await client.load({
      name: "ready",
      tasks: [{ id: "t", method: "mcp/tool.echo", params: { message: "ready" } }]
    })
    const outcome = await client.execute(ping, 60_000)
    if (outcome.status !== "completed") throw new Error(`the readiness run ended ${outcome.status}`)
    return await body({ database, client, probe, nodes })
  } catch (error) {
    failed = true
    const message = error instanceof Error ? error.message : String(error)
    console.error(`\n✘ cluster ${label} (${n} node(s)) failed: ${message}`)
    for (const node of nodes) {
      const state = node.hasExited() ? "exited" : "running"
      console.error(`\n--- ${node.name} (pid ${node.pid}, ${state}), ${node.logFile}:`)
      console.error(ClusterNodes.logTail(node))
    }
    throw error
  } finally {
    await cleanup("stopping the nodes", () => Promise.all(nodes.map((node) => ClusterNodes.stop(node, 15_000))))
    await cleanup("closing the client", () => client?.dispose())
    await cleanup("closing the probe", () => probe?.dispose())
    await cleanup(`dropping database ${database.name}`, database.drop)
    if (failed || keepLogs) console.error(`node logs kept in ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  }
}
