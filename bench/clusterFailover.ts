/**
 * The cluster bench's failover measurement. FAILOVER_RUNS (60) runs of FAILOVER_STEPS (3) sequential `http/request`
 * tasks against a server in this process that answers after FAILOVER_DELAY_MS (300 ms) are submitted to N nodes; once
 * every run has started and every node coordinates running runs (`runs.owner`), the node coordinating the most is
 * killed with SIGKILL. Measured:
 * the time from the kill until each run it coordinated has a `RunStarted` event with `resumed: true` (the event's `at`
 * against the kill time, same host clock), whether every run completes, and whether any task completed twice in the
 * journal. The server counts requests per task, which shows the attempts executed again after the kill.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import * as ClusterDb from "./clusterDb.js"
import * as ClusterNodes from "./clusterNodes.js"
import * as ClusterSession from "./clusterSession.js"
import { PollTimeout, pollUntil } from "./poll.js"

const RUNS = Number(process.env.FAILOVER_RUNS ?? 60)
const STEPS = Number(process.env.FAILOVER_STEPS ?? 3)
const DELAY_MS = Number(process.env.FAILOVER_DELAY_MS ?? 300)
const NAME = "failover"

/** What the failover measurement observed. */
export interface Report {
  readonly nodes: number
  /** Running runs per coordinating node just before the kill. */
  readonly runningBefore: ClusterDb.Spread
  readonly victim: string
  /** Unfinished runs the killed node coordinated at the kill. */
  readonly owned: number
  /** Of those, the runs whose end the killed node had journaled before it died. */
  readonly endedBeforeKill: number
  /** Kill → `RunStarted { resumed: true }` per run that needed a resume, in ms. */
  readonly resumeMs: ReadonlyArray<number>
  /** Runs that needed a resume and got none within the deadline. */
  readonly notResumed: ReadonlyArray<string>
  /** Run outcomes by status (a run with no outcome within the deadline counts as `no outcome`). */
  readonly outcomes: ReadonlyMap<string, number>
  /** Tasks by how many `TaskCompleted` events the journal has for them. */
  readonly completions: ReadonlyMap<number, number>
  /** Requests the server answered, and tasks it saw more than once. */
  readonly requests: { readonly total: number; readonly tasks: number; readonly repeated: number }
  /** Attempts journaled with a number above 1 (a new attempt rather than a re-dispatch of the same one). */
  readonly laterAttempts: number
  /** Runs per coordinating node at the end, and attempts per executing node. */
  readonly ownersAfter: ClusterDb.Spread
  readonly attemptsByNode: ClusterDb.Spread
}

/** A local HTTP server answering every request after `delayMs`, counting requests per `?run=&step=`. */
const slowServer = async (delayMs: number) => {
  const requests = new Map<string, number>()
  const server: Server = createServer((req, res) => {
    const query = new URL(req.url ?? "/", "http://bench").searchParams
    const key = `${query.get("run")}/${query.get("step")}`
    requests.set(key, (requests.get(key) ?? 0) + 1)
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ key }))
    }, delayMs)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

const chain = (url: string, run: number) => ({
  name: NAME,
  tasks: Array.from({ length: STEPS }, (_, k) => ({
    id: `s${k + 1}`,
    method: "http/request",
    params: { url: `${url}?run=${run}&step=${k + 1}` },
    ...(k === 0 ? {} : { dependencies: [`s${k}`] })
  }))
})

const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1)

/** Runs the failover measurement on a fresh cluster of `n` (≥ 2) nodes. */
export const measure = async (n: number, settings: ClusterSession.SessionSettings): Promise<Report> => {
  const server = await slowServer(DELAY_MS)
  try {
    return await ClusterSession.withCluster(NAME, n, settings, async ({ client, nodes, probe }) => {
      const workflows = await Promise.all(Array.from({ length: RUNS }, (_, i) => client.load(chain(server.url, i))))
      const runIds = await Promise.all(workflows.map((wf) => client.submit(wf)))

      // Every run started (none still waiting for its coordinator) and every node coordinating some of them.
      const runningBefore = await pollUntil("every run started, runs executing on every node", async () => {
        const rows = await probe.query((sql) =>
          sql`SELECT owner, status, count(*)::int AS count FROM runs WHERE name = ${NAME}
              GROUP BY owner, status ORDER BY owner`
        )
        if (rows.some((r) => r.status === "pending")) return undefined
        const spread: ClusterDb.Spread = rows.filter((r) => r.status === "running")
          .map((r) => ({ node: String(r.owner), count: Number(r.count) }))
        return nodes.every((node) => spread.some((s) => s.node === node.name)) ? spread : undefined
      }, { timeoutMs: 30_000, intervalMs: 20 })
      const victimName = [...runningBefore].sort((a, b) => b.count - a.count)[0]!.node
      const victim = nodes.find((node) => node.name === victimName)!

      const owned = await probe.query((sql) =>
        sql`SELECT id FROM runs WHERE name = ${NAME} AND owner = ${victimName} AND status IN ('pending', 'running')`
      ).then((rows) => rows.map((r) => String(r.id)))
      const killedAt = ClusterNodes.kill(victim)
      await victim.exited

      // A run whose end the victim journaled before it died needs no resume.
      const ended = owned.length === 0 ?
        [] :
        await probe.query((sql) =>
          sql`SELECT DISTINCT run_id FROM events WHERE run_id IN ${sql.in(owned)}
            AND type IN ('RunCompleted', 'RunFailed', 'RunCancelled') AND at <= ${killedAt}`
        ).then((rows) => rows.map((r) => String(r.run_id)))
      const affected = owned.filter((id) => !ended.includes(id))
      const resumedAt = new Map<string, number>()
      const readResumes = async () => {
        if (affected.length === 0) return
        const rows = await probe.query((sql) =>
          sql`SELECT run_id, min(at) AS at FROM events WHERE run_id IN ${sql.in(affected)}
              AND type = 'RunStarted' AND (data ->> 'resumed')::boolean AND at >= ${killedAt} GROUP BY run_id`
        )
        for (const row of rows) resumedAt.set(String(row.run_id), Number(row.at))
      }
      try {
        await pollUntil("every run of the killed node resumed", async () => {
          await readResumes()
          return resumedAt.size === affected.length ? true : undefined
        }, { timeoutMs: 120_000, intervalMs: 50 })
      } catch (error) {
        if (!(error instanceof PollTimeout)) throw error
      }

      const outcomes = new Map<string, number>()
      for (const result of await Promise.allSettled(runIds.map((id) => client.wait(id, 180_000)))) {
        count(outcomes, result.status === "fulfilled" ? result.value.status : "no outcome")
      }
      const completions = new Map<number, number>()
      const perTask = await probe.query((sql) =>
        sql`SELECT count(e.seq)::int AS n FROM tasks t JOIN runs r ON r.id = t.run_id
            LEFT JOIN events e ON e.run_id = t.run_id AND e.task_id = t.task_id AND e.type = 'TaskCompleted'
            WHERE r.name = ${NAME} GROUP BY t.run_id, t.task_id`
      )
      for (const row of perTask) count(completions, Number(row.n))
      const [later] = await probe.query((sql) =>
        sql`SELECT count(*)::int AS n FROM attempts a JOIN runs r ON r.id = a.run_id
            WHERE r.name = ${NAME} AND a.attempt > 1`
      )
      const report: Report = {
        nodes: n,
        runningBefore,
        victim: victimName,
        owned: owned.length,
        endedBeforeKill: ended.length,
        resumeMs: affected.flatMap((id) => {
          const at = resumedAt.get(id)
          return at === undefined ? [] : [at - killedAt]
        }),
        notResumed: affected.filter((id) => !resumedAt.has(id)),
        outcomes,
        completions,
        requests: {
          total: [...server.requests.values()].reduce((a, b) => a + b, 0),
          tasks: server.requests.size,
          repeated: [...server.requests.values()].filter((c) => c > 1).length
        },
        laterAttempts: Number(later?.n ?? 0),
        ownersAfter: await probe.runsByOwner(NAME),
        attemptsByNode: await probe.attemptsByNode(NAME)
      }
      if (problems(report).length > 0) {
        for (const node of nodes) {
          console.error(`\n--- ${node.name} (pid ${node.pid}), ${node.logFile}:\n${ClusterNodes.logTail(node, 40)}`)
        }
      }
      return report
    })
  } finally {
    await server.close()
  }
}

/** What went wrong, if anything. */
const problems = (report: Report): Array<string> => {
  const issues: Array<string> = []
  if (report.notResumed.length > 0) {
    issues.push(`${report.notResumed.length} run(s) of the killed node never resumed: ${report.notResumed.join(", ")}`)
  }
  const completed = report.outcomes.get("completed") ?? 0
  if (completed !== RUNS) {
    const outcomes = JSON.stringify(Object.fromEntries(report.outcomes))
    issues.push(`${RUNS - completed} of ${RUNS} runs did not complete: ${outcomes}`)
  }
  const wrong = [...report.completions].filter(([times]) => times !== 1).reduce((a, [, tasks]) => a + tasks, 0)
  if (wrong > 0) issues.push(`${wrong} task(s) do not have exactly one TaskCompleted event`)
  return issues
}

const median = (values: ReadonlyArray<number>) => {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

/** Prints the report. */
export const print = (report: Report): void => {
  const resumed = report.resumeMs
  const affected = resumed.length + report.notResumed.length
  const completions = [...report.completions].sort(([a], [b]) => a - b)
    .map(([times, tasks]) => `${tasks} task(s) ×${times}`).join(", ")
  console.log(
    `\nFailover — ${report.nodes} nodes, ${RUNS} runs of ${STEPS} sequential http/request tasks ` +
      `(local server answering after ${DELAY_MS} ms)`
  )
  console.log(`  running runs per coordinating node before the kill: ${ClusterDb.formatSpread(report.runningBefore)}`)
  console.log(
    `  kill -9 ${report.victim}: it coordinated ${report.owned} unfinished run(s), ` +
      `${report.endedBeforeKill} of which had journaled their end before it died → ${affected} to resume`
  )
  console.log(
    resumed.length === 0
      ? "  resume time: no run resumed"
      : `  resume time (kill → RunStarted resumed: true): median ${Math.round(median(resumed))} ms, ` +
        `max ${Math.max(...resumed)} ms, min ${Math.min(...resumed)} ms (${resumed.length}/${affected} resumed, ` +
        `${resumed.filter((ms) => ms <= 1000).length} within 1 s)`
  )
  console.log(`  outcomes: ${[...report.outcomes].map(([status, runs]) => `${runs} ${status}`).join(", ")} of ${RUNS}`)
  console.log(`  TaskCompleted events per task: ${completions}`)
  console.log(
    `  server saw ${report.requests.total} requests for ${report.requests.tasks} tasks ` +
      `(${report.requests.repeated} task(s) executed more than once); attempts numbered > 1: ${report.laterAttempts}`
  )
  console.log(`  runs by final coordinator: ${ClusterDb.formatSpread(report.ownersAfter)}`)
  console.log(`  attempts by executing node: ${ClusterDb.formatSpread(report.attemptsByNode)}`)
  const issues = problems(report)
  if (issues.length === 0) console.log("  ✔ every run completed, every task completed exactly once in the journal")
  for (const issue of issues) console.log(`  ✘ ${issue}`)
}
