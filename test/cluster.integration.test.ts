/**
 * A cluster of real `gleitzeit node` processes on 127.0.0.1 sharing a fresh PostgreSQL database and Redis, with
 * clients: the CLI (`submit`, `cancel`, `logs --follow`) and an in-process client-only member for bulk submissions.
 * The tests share one cluster and run in order; each leaves every node it stopped running again.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { run, start } from "./support/cli.js"
import { makeCluster, type TestCluster } from "./support/cluster.js"
import { startServer, type TestServer } from "./support/httpServer.js"

let cluster: TestCluster
let server: TestServer

beforeAll(async () => {
  server = await startServer()
  cluster = await makeCluster()
  await Promise.all(["node-1", "node-2", "node-3"].map((name) => cluster.startNode(name)))
  await cluster.settled(["node-1", "node-2", "node-3"])
})

afterAll(async () => {
  await cluster?.close()
  await server?.close()
})

const range = (n: number) => Array.from({ length: n }, (_, i) => i)
const inList = (ids: ReadonlyArray<string>) => ids.map((id) => `'${id}'`).join(", ")

/** A task calling the test server. */
const httpTask = (id: string, path: string, dependencies: ReadonlyArray<string> = []) =>
  `  - id: ${id}
    method: http/request
    params: { url: "${server.url}${path}", method: GET }
    dependencies: [${dependencies.join(", ")}]
`

/** Three steps in a row: a fast one, one on `held` (held open by the tests), another fast one. */
const chain = (prefix: string, i: number, held: string) =>
  `name: chain-${prefix}-${i}\ntasks:\n${httpTask("a", `/${prefix}/a/${i}`)}${httpTask("b", held, ["a"])}${
    httpTask("c", `/${prefix}/c/${i}`, ["b"])
  }`

/** `n` independent demo-tool tasks. */
const fanOut = (name: string, n: number, dependencies: ReadonlyArray<string> = []) =>
  range(n).map((i) =>
    `  - id: t${i}\n    method: mcp/tool.add\n    params: { a: ${i}, b: 1 }\n    dependencies: [${
      dependencies.join(", ")
    }]\n`
  ).join("").replace(/^/, `name: ${name}\ntasks:\n`)

const hits = (path: string) => server.hits.get(path) ?? 0

const waitForHits = (path: string, n: number) =>
  cluster.until(async () => (hits(path) >= n ? true : undefined), `${n} requests on ${path}`)

const waitCompleted = (ids: ReadonlyArray<string>) =>
  cluster.until(async () => {
    const rows = await cluster.sql<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM runs WHERE id IN (${inList(ids)}) GROUP BY status`
    )
    const unfinished = rows.filter((r) => r.status === "pending" || r.status === "running")
    const ended = rows.filter((r) => r.status !== "pending" && r.status !== "running")
    if (unfinished.length > 0) return undefined
    return ended
  }, `${ids.length} runs to end`)

/** The owner of the most of `ids` (and how many it owns). */
const busiestOwner = async (ids: ReadonlyArray<string>) => {
  const rows = await cluster.sql<{ owner: string; n: string }>(
    `SELECT owner, count(*) AS n FROM runs WHERE id IN (${inList(ids)}) GROUP BY owner ORDER BY count(*) DESC`
  )
  return { owner: rows[0]!.owner, runs: Number(rows[0]!.n) }
}

/** Asserts that no task of `ids` completed twice (exactly one TaskCompleted per completed task). */
const expectEachTaskCompletedOnce = async (ids: ReadonlyArray<string>) => {
  const twice = await cluster.sql<{ run_id: string; task_id: string }>(
    `SELECT run_id, task_id FROM events WHERE type = 'TaskCompleted' AND run_id IN (${inList(ids)})
       GROUP BY run_id, task_id HAVING count(*) > 1`
  )
  expect(twice).toEqual([])
}

describe("cluster of node processes", () => {
  it("spreads runs and their attempts over all three nodes; submit --wait follows a run like `run`", async () => {
    const ids = await Promise.all(range(24).map((i) => cluster.submit(fanOut(`spread-${i}`, 4))))
    const ended = await waitCompleted(ids)
    expect(ended).toEqual([{ status: "completed", n: "24" }])
    const owners = await cluster.sql<{ owner: string }>(
      `SELECT DISTINCT owner FROM runs WHERE id IN (${inList(ids)}) ORDER BY owner`
    )
    expect(owners.map((r) => r.owner)).toEqual(["node-1", "node-2", "node-3"])
    const workers = await cluster.sql<{ node: string }>(
      `SELECT DISTINCT node FROM attempts WHERE run_id IN (${inList(ids)}) ORDER BY node`
    )
    expect(workers.map((r) => r.node)).toEqual(["node-1", "node-2", "node-3"])

    const file = cluster.write("spread.yaml", fanOut("spread-cli", 6))
    const submitted = await run(["submit", file, "--wait"], cluster.opts)
    expect(submitted.code).toBe(0)
    expect(submitted.stdout).toMatch(/✔ run \w+ completed/)
    expect(submitted.stdout).toMatch(/✓ t5 .* \(on node-\d\)/)

    const plain = await run(["submit", file], cluster.opts)
    expect(plain.code).toBe(0)
    const runId = plain.stdout.trim()
    expect(runId).toMatch(/^\w+$/)
    await waitCompleted([runId])

    // The client's queries read the shared journal.
    const status = await run(["status", runId], cluster.opts)
    expect(status.code).toBe(0)
    expect(status.stdout).toMatch(/status\s+completed/)
    const listed = await run(["list", "--limit", "100", "--json"], cluster.opts)
    const runs = JSON.parse(listed.stdout) as ReadonlyArray<{ runId: string; status: string }>
    expect(runs.map((r) => r.runId)).toEqual(expect.arrayContaining([...ids, runId]))
  })

  it("logs --follow from a client shows the events of every node's attempts as they happen", async () => {
    server.hold.add("/f/gate")
    const yaml = `${fanOut("follow", 40, ["gate"])}${httpTask("gate", "/f/gate")}`
    const runId = await cluster.submit(yaml)
    await server.arrived("/f/gate")
    const follower = start(["logs", runId, "--follow"], cluster.opts)
    await follower.waitFor(/→ gate/)
    server.release("/f/gate")
    const followed = await follower.done
    expect(followed.code).toBe(0)
    expect(followed.stdout).toMatch(/run \w+ completed/)
    const workers = await cluster.sql<{ node: string }>(
      `SELECT DISTINCT node FROM attempts WHERE run_id = '${runId}' AND task_id <> 'gate'`
    )
    expect(workers.length).toBe(3)
    for (const { node } of workers) expect(followed.stdout).toContain(`(on ${node})`)
  })

  it("cancel from a client stops the run's tasks on every node: their HTTP requests are aborted", async () => {
    const paths = range(8).map((i) => `/x/${i}`)
    for (const path of paths) server.hold.add(path)
    const yaml = `name: to-cancel\ntasks:\n${paths.map((path, i) => httpTask(`h${i}`, path)).join("")}`
    const runId = await cluster.submit(yaml)
    await Promise.all(paths.map((path) => server.arrived(path)))
    const cancelled = await run(["cancel", runId], cluster.opts)
    expect(cancelled.code).toBe(0)
    expect(cancelled.stdout).toContain(`■ run ${runId} cancelled`)
    // Every request's connection was closed by the node that made it.
    await Promise.all(paths.map((path) => server.closed(path)))
    const [record] = await cluster.sql<{ status: string }>(`SELECT status FROM runs WHERE id = '${runId}'`)
    expect(record!.status).toBe("cancelled")
    for (const path of paths) server.release(path)
  })

  it("kill -9 of a node in the middle of many runs: every run completes elsewhere, no completed task runs again", async () => {
    server.hold.add("/k/b")
    const ids = await Promise.all(range(30).map((i) => cluster.submit(chain("k", i, "/k/b"))))
    await waitForHits("/k/b", 30)
    const victim = await busiestOwner(ids)
    const node = cluster.nodes.get(victim.owner)!
    const victimRuns = (await cluster.sql<{ id: string }>(
      `SELECT id FROM runs WHERE id IN (${inList(ids)}) AND owner = '${victim.owner}'`
    )).map((r) => r.id)
    const killedAt = Date.now()
    node.process.child.kill("SIGKILL")
    await node.process.done
    server.release("/k/b")

    const ended = await waitCompleted(ids)
    expect(ended).toEqual([{ status: "completed", n: "30" }])
    const resumed = await cluster.sql<{ run_id: string; at: string }>(
      `SELECT run_id, min(at) AS at FROM events WHERE type = 'RunStarted' AND (data ->> 'resumed')::boolean
         AND at >= ${killedAt} AND run_id IN (${inList(ids)}) GROUP BY run_id`
    )
    expect(resumed.map((r) => r.run_id).sort()).toEqual([...victimRuns].sort())
    const delays = resumed.map((r) => Number(r.at) - killedAt).sort((a, b) => a - b)
    console.log(
      `failover: ${victimRuns.length} runs of ${victim.owner} resumed ${delays[0]}–${
        delays[delays.length - 1]
      } ms after kill -9`
    )
    await expectEachTaskCompletedOnce(ids)
    for (const i of range(30)) {
      expect(hits(`/k/a/${i}`)).toBe(1)
      expect(hits(`/k/c/${i}`)).toBe(1)
    }
    // The owners now are the survivors.
    const owners = await cluster.sql<{ owner: string }>(`SELECT DISTINCT owner FROM runs WHERE id IN (${inList(ids)})`)
    expect(owners.map((r) => r.owner)).not.toContain(victim.owner)
    // Back to full strength, with shards settled, so the next test does not see this one's rebalancing.
    await cluster.startNode(victim.owner)
    await cluster.settled([...cluster.nodes.keys()])
  })

  it("SIGTERM drains a node: attempts in flight finish, its runs resume elsewhere, nothing is stored as failed", async () => {
    server.hold.add("/d/b")
    const ids = await Promise.all(range(18).map((i) => cluster.submit(chain("d", i, "/d/b"))))
    await waitForHits("/d/b", 18)
    const victim = await busiestOwner(ids)
    const node = cluster.nodes.get(victim.owner)!
    node.process.child.kill("SIGTERM")
    await node.process.waitFor(/draining/)
    // Only now do the held attempts finish: the drain waits for them.
    server.release("/d/b")
    const stopped = await node.process.done
    expect(stopped.signal).toBe(null)
    expect(stopped.code).toBe(0)
    expect(stopped.stdout).toContain(`■ node ${victim.owner} stopped`)

    const ended = await waitCompleted(ids)
    expect(ended).toEqual([{ status: "completed", n: "18" }])
    const notCompleted = await cluster.sql<{ n: string }>(
      `SELECT count(*) AS n FROM attempts WHERE run_id IN (${inList(ids)}) AND status <> 'completed'`
    )
    expect(notCompleted[0]!.n).toBe("0")
    const failures = await cluster.sql<{ n: string }>(
      `SELECT count(*) AS n FROM events WHERE run_id IN (${
        inList(ids)
      }) AND type IN ('TaskAttemptFailed', 'TaskFailed')`
    )
    expect(failures[0]!.n).toBe("0")
    // No attempt was interrupted and run again.
    expect(hits("/d/b")).toBe(18)
    await expectEachTaskCompletedOnce(ids)
    const owners = await cluster.sql<{ owner: string }>(`SELECT DISTINCT owner FROM runs WHERE id IN (${inList(ids)})`)
    expect(owners.map((r) => r.owner)).not.toContain(victim.owner)
    // Back to full strength, with shards settled, so the next test does not see this one's rebalancing.
    await cluster.startNode(victim.owner)
    await cluster.settled([...cluster.nodes.keys()])
  })

  it("a node joining takes over shards: runs in flight complete, new attempts execute on it", async () => {
    server.hold.add("/j/b")
    const ids = await Promise.all(range(12).map((i) => cluster.submit(chain("j", i, "/j/b"))))
    await waitForHits("/j/b", 12)
    await cluster.startNode("node-4")
    const onNewcomer = await cluster.until(async () => {
      const probe = await cluster.submit(fanOut("probe", 12))
      await waitCompleted([probe])
      const [row] = await cluster.sql<{ n: string }>(
        `SELECT count(*) AS n FROM attempts WHERE run_id = '${probe}' AND node = 'node-4'`
      )
      return Number(row!.n) > 0 ? Number(row!.n) : undefined
    }, "attempts on node-4")
    expect(onNewcomer).toBeGreaterThan(0)
    server.release("/j/b")
    const ended = await waitCompleted(ids)
    expect(ended).toEqual([{ status: "completed", n: "12" }])
    await expectEachTaskCompletedOnce(ids)
    // Every step ran. Shards keep moving to the newcomer for a moment: an attempt in flight on a moving shard is
    // dispatched again (the documented at-least-once of volatile dispatch), so a request may be repeated; the journal
    // records each task once (above).
    for (const i of range(12)) expect(hits(`/j/c/${i}`)).toBeGreaterThanOrEqual(1)
  })

  it("prunes the stored start messages of ended runs", async () => {
    const pending = await cluster.until(async () => {
      const [row] = await cluster.sql<{ n: string }>(
        `SELECT count(*) AS n FROM cluster_messages m JOIN runs r ON r.id = m.entity_id
           WHERE m.entity_type = 'WorkflowRun' AND r.status NOT IN ('pending', 'running')`
      )
      return row!.n === "0" ? row!.n : undefined
    }, "pruned messages")
    expect(pending).toBe("0")
  })
})
