/**
 * The HTTP API on a 2-node cluster (real `gleitzeit node` processes over PostgreSQL and Redis): a run submitted
 * through node A's API is followed (Server-Sent Events) and cancelled through node B's, and both answer the same.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { clientOf, makeKey, readEvents } from "./support/api.js"
import { freePort, makeCluster, type TestCluster } from "./support/cluster.js"
import { startServer, type TestServer } from "./support/httpServer.js"

const submitter = makeKey("pipeline", ["submit"])
const operator = makeKey("oncall", ["submit"])

let cluster: TestCluster
let server: TestServer
const urls = new Map<string, string>()

beforeAll(async () => {
  server = await startServer()
  const keys = [submitter, operator].map((k) =>
    `    - { name: ${k.entry.name}, hash: "${k.entry.hash}", scopes: [${k.entry.scopes.join(", ")}] }\n`
  ).join("")
  cluster = await makeCluster(`api:\n  keys:\n${keys}`)
  for (const name of ["node-a", "node-b"]) {
    const port = await freePort()
    const node = await cluster.startNode(name, undefined, ["--api", `127.0.0.1:${port}`])
    const match = await node.process.waitFor(/serves the API on (\S+)/)
    urls.set(name, match[1]!)
  }
  await cluster.settled(["node-a", "node-b"])
})

afterAll(async () => {
  await cluster?.close()
  await server?.close()
})

describe("the HTTP API on a cluster", () => {
  it("submits on node A, follows the events and cancels on node B", async () => {
    server.hold.add("/held")
    const a = clientOf(urls.get("node-a")!, submitter.key)
    const b = clientOf(urls.get("node-b")!, operator.key)
    const submitted = await a.POST("/v1/runs", {
      body: {
        workflow: `name: across
tasks:
  - id: first
    method: mcp/tool.echo
    params: { message: hello }
  - id: held
    method: http/request
    params: { url: "${server.url}/held", method: GET }
    dependencies: [first]
`
      }
    })
    expect(submitted.response.status).toBe(201)
    const runId = submitted.data!.runId

    // Follow on B until the held task has started, while its request is held by the test server.
    const controller = new AbortController()
    const stream = await b.GET("/v1/runs/{runId}/events", {
      params: { path: { runId } },
      parseAs: "stream",
      signal: controller.signal
    })
    const following = readEvents(stream.response, controller)
    await server.arrived("/held")

    const cancelled = await b.POST("/v1/runs/{runId}/cancel", {
      params: { path: { runId } },
      body: { reason: "stop it" }
    })
    expect(cancelled.data).toMatchObject({ runId, status: "cancelled" })
    // The attempt was interrupted where it ran: its HTTP request was aborted.
    await server.closed("/held")

    const { ended, events } = await following
    expect(ended).toBe(true)
    const tags = events.map((e) => e.event)
    expect(tags[0]).toBe("RunSubmitted")
    expect(tags).toContain("TaskCompleted")
    expect(tags[tags.length - 1]).toBe("RunCancelled")
    expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i + 1))

    for (const client of [a, b]) {
      const run = await client.GET("/v1/runs/{runId}", { params: { path: { runId } } })
      expect(run.data).toMatchObject({ status: "cancelled", submittedBy: "pipeline", cancelledBy: "oncall" })
      const result = await client.GET("/v1/runs/{runId}/result", { params: { path: { runId }, query: { timeout: 5 } } })
      expect(result.data).toMatchObject({ done: true, status: "cancelled", error: { message: "stop it" } })
    }
  })

  it("waits on node B for a run submitted on node A", async () => {
    const a = clientOf(urls.get("node-a")!, submitter.key)
    const b = clientOf(urls.get("node-b")!, operator.key)
    const submitted = await a.POST("/v1/runs", {
      body: {
        workflow: {
          name: "sum",
          tasks: [{ id: "s", method: "mcp/tool.add", params: { a: 40, b: 2 } }],
          outputs: { sum: "${s.result}" }
        }
      }
    })
    const result = await b.GET("/v1/runs/{runId}/result", {
      params: { path: { runId: submitted.data!.runId }, query: { timeout: 30 } }
    })
    expect(result.data).toMatchObject({ done: true, status: "completed", outputs: { sum: 42 } })
  })
})
