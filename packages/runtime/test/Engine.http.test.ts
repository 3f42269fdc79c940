import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assertStatuses, reasonTag, setup, tasksById, workflow } from "./helpers.js"

/** A local HTTP server counting hits per path; closed with the scope. */
const httpServer = (handler: (req: IncomingMessage, res: ServerResponse, hits: number) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly hits: Map<string, number>; readonly close: () => Promise<void> }>(
      (resume) => {
        const hits = new Map<string, number>()
        const server = createServer((req, res) => {
          const path = new URL(req.url ?? "/", "http://localhost").pathname
          const n = (hits.get(path) ?? 0) + 1
          hits.set(path, n)
          handler(req, res, n)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({
            url: `http://127.0.0.1:${port}`,
            hits,
            close: () =>
              new Promise<void>((done) => {
                server.closeAllConnections()
                server.close(() => done())
              })
          }))
        })
      }
    ),
    (server) => Effect.promise(server.close)
  )

const server = httpServer((req, res, hits) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname
  if (path === "/flaky" && hits <= 2) {
    res.writeHead(503, { "content-type": "text/plain" })
    return res.end("try later")
  }
  if (path === "/missing") {
    res.writeHead(404, { "content-type": "application/json" })
    return res.end(JSON.stringify({ error: "no such item" }))
  }
  res.writeHead(200, { "content-type": "application/json" })
  res.end(JSON.stringify({ item: { id: 7, name: "widget" }, hits }))
})

const fixedRetry = { max_attempts: 3, backoff: "fixed", base_delay: 0, jitter: false }

describe("Engine with http/request", () => {
  it.scoped("retries a 5xx answer and passes the decoded JSON body on to a dependent task", () =>
    Effect.gen(function*() {
      const s = yield* server
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "fetch",
        tasks: [
          { id: "fetch", method: "http/request", params: { url: `${s.url}/flaky` }, retry: fixedRetry },
          { id: "use", method: "fn/echo", params: { id: "${fetch.body.item.id}", name: "${fetch.body.item.name}" } }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.strictEqual(s.hits.get("/flaky"), 3)
      assert.deepStrictEqual(probe.calls[0]!.params, { id: 7, name: "widget" })
      const attempts = yield* runtime.journal.attempts(outcome.runId)
      assert.deepStrictEqual(
        attempts.filter((a) => a.taskId === "fetch").map((a) => [a.attempt, a.status, reasonTag(a.error) ?? null]),
        [[1, "failed", "HttpStatus"], [2, "failed", "HttpStatus"], [3, "completed", null]]
      )
      assert.strictEqual(attempts.find((a) => a.status === "completed" && a.taskId === "fetch")!.provider, "http")
    }))

  it.scoped("does not retry a 4xx answer; the task fails with the status and body", () =>
    Effect.gen(function*() {
      const s = yield* server
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "missing",
        tasks: [{ id: "fetch", method: "http/request", params: { url: `${s.url}/missing` }, retry: fixedRetry }]
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      assert.strictEqual(s.hits.get("/missing"), 1)
      yield* assertStatuses(runtime, outcome.runId, { fetch: "failed" })
      const fetch = (yield* tasksById(runtime, outcome.runId)).get("fetch")!
      assert.deepStrictEqual((fetch.error as { reason: unknown }).reason, {
        _tag: "HttpStatus",
        status: 404,
        body: { error: "no such item" }
      })
    }))
})
