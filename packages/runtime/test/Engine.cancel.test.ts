import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { assertStatuses, eventually, isEvent, nextEvent, setup, workflow } from "./helpers.js"

/** A local HTTP server on 127.0.0.1 (random port), closed with the scope. */
const httpServer = (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly close: () => Promise<void> }>((resume) => {
      const server = createServer(handler)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          url: `http://127.0.0.1:${port}`,
          close: () =>
            new Promise<void>((done) => {
              server.closeAllConnections()
              server.close(() => done())
            })
        }))
      })
    }),
    (server) => Effect.promise(server.close)
  )

describe("Engine cancellation", () => {
  it.scoped("cancel interrupts running attempts (finalizers run), cancels every unfinished task and the run", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "cancel-me",
        tasks: [
          { id: "done", method: "fn/work", params: { key: "done" } },
          { id: "a", method: "fn/work", params: { key: "a", wait: "never" }, dependencies: ["done"] },
          { id: "b", method: "fn/work", params: { key: "b", wait: "never" } },
          { id: "c", method: "fn/work", params: { key: "c" }, dependencies: ["a"] }
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("a")
      yield* probe.started("b")
      const outcome = yield* runtime.engine.cancel(runId, "user pressed ctrl-c")
      assert.strictEqual(outcome.status, "cancelled")
      assert.strictEqual(outcome.error?.message, "user pressed ctrl-c")
      assert.deepStrictEqual([...probe.interrupted].sort(), ["a", "b"])
      assert.strictEqual(probe.count("c"), 0)
      yield* assertStatuses(runtime, runId, { done: "completed", a: "cancelled", b: "cancelled", c: "cancelled" })
      const run = yield* runtime.journal.run(runId)
      assert.strictEqual(run._tag === "Some" ? run.value.status : undefined, "cancelled")
      const attempts = yield* runtime.journal.attempts(runId)
      assert.deepStrictEqual(
        attempts.map((a) => [a.taskId, a.status]),
        [["a", "cancelled"], ["b", "cancelled"], ["done", "completed"]]
      )
      assert.deepStrictEqual(yield* runtime.engine.wait(runId), outcome)
      assert.deepStrictEqual(runtime.engine.active(), [])
    }))

  it.scoped("cancel withdraws attempts still waiting for a global slot; they never run", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup({ concurrency: 1 })
      const wf = yield* workflow(runtime, {
        name: "queued",
        tasks: [
          { id: "running", method: "fn/work", params: { key: "running", wait: "never" } },
          { id: "queued-1", method: "fn/work", params: { key: "queued-1" } },
          { id: "queued-2", method: "fn/work", params: { key: "queued-2" } }
        ]
      })
      const runId = yield* runtime.engine.submit(wf)
      yield* probe.started("running")
      yield* eventually("2 attempts waiting for a slot", Effect.sync(() => runtime.scheduler.waiting()), (n) => n >= 2)
      yield* runtime.engine.cancel(runId)
      assert.strictEqual(runtime.scheduler.waiting(), 0)
      assert.strictEqual(runtime.scheduler.running(), 0)
      assert.deepStrictEqual(probe.order(), ["running"])
      yield* assertStatuses(runtime, runId, { running: "cancelled", "queued-1": "cancelled", "queued-2": "cancelled" })
      // The slot is free again for the next run.
      const next = yield* workflow(runtime, { name: "next", tasks: [{ method: "fn/work", params: { key: "next" } }] })
      assert.strictEqual((yield* runtime.engine.execute(next)).status, "completed")
    }))

  it.scoped("cancel of an ended run is InvalidRunState; of an unknown run RunNotFound", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, { name: "ends", tasks: [{ method: "fn/work", params: { key: "x" } }] })
      const outcome = yield* runtime.engine.execute(wf)
      const ended = yield* Effect.flip(runtime.engine.cancel(outcome.runId))
      assert.strictEqual(ended._tag, "InvalidRunState")
      const unknown = yield* Effect.flip(runtime.engine.cancel("no-such-run"))
      assert.strictEqual(unknown._tag, "RunNotFound")
    }))

  it.scopedLive("cancel reaches an in-flight http/request: the server sees its connection closed", () =>
    Effect.gen(function*() {
      const seen = Deferred.unsafeMake<void>(FiberId.none)
      const closed = Deferred.unsafeMake<void>(FiberId.none)
      const server = yield* httpServer((req) => {
        // Never answers.
        req.socket.on("close", () => Deferred.unsafeDone(closed, Exit.void))
        Deferred.unsafeDone(seen, Exit.void)
      })
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "http-cancel",
        tasks: [{ id: "call", method: "http/request", params: { url: `${server.url}/slow` }, retry: 1 }]
      })
      const events = yield* runtime.bus.subscribe
      const runId = yield* runtime.engine.submit(wf)
      yield* nextEvent(events, isEvent("TaskStarted", "call"))
      yield* Deferred.await(seen)
      assert.isFalse(yield* Deferred.isDone(closed))
      const outcome = yield* runtime.engine.cancel(runId)
      assert.strictEqual(outcome.status, "cancelled")
      // Promptly: well before any HTTP timeout (the default is 30 s), and while the provider's agent is still open.
      const result = yield* Deferred.await(closed).pipe(Effect.timeout("2 seconds"), Effect.option)
      assert.strictEqual(result._tag, "Some", "the server never saw the connection close")
      yield* assertStatuses(runtime, runId, { call: "cancelled" })
    }))
})
