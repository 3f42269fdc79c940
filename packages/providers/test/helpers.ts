/**
 * Shared helpers of the provider tests: a real local HTTP server, a call context, and calling a provider method
 * with params decoded by its schema (as the engine does).
 */
import type { Json, ProviderError } from "@gleitzeit/core"
import type { Provider } from "@gleitzeit/providers"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Schema from "effect/Schema"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** A call context for direct provider calls. */
export const ctx: Provider.ExecuteContext = {
  runId: "run-1",
  taskId: "task-1",
  attempt: 1,
  idempotencyKey: "run-1/task-1",
  emit: () => Effect.void
}

/** Calls `method` of a provider with params decoded by the method's schema. */
export const call = (
  provider: Provider.Provider,
  method: string,
  params: unknown
): Effect.Effect<Json.Json, ProviderError.ProviderError> =>
  Effect.suspend(() => {
    const spec = provider.spec.methods.find((m) => m.name === method || (m.aliases ?? []).includes(method))
    if (spec === undefined) return Effect.die(new Error(`${provider.id} has no method ${method}`))
    return provider.execute(spec, Schema.decodeUnknownSync(spec.params)(params), ctx)
  })

/** A request the server received, with its body. */
export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage["headers"]
  readonly body: string
}

/** A local HTTP server and what it saw. */
export interface TestServer {
  readonly url: string
  readonly port: number
  /** Every request, as received. */
  readonly received: Array<Received>
  /** Completed when a request reached a handler that never answers. */
  readonly hanging: Deferred.Deferred<void>
  /** Completed when the connection of that request closed. */
  readonly hangingClosed: Deferred.Deferred<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string, server: TestServer) => void

/** Starts a server on 127.0.0.1 (random port) with a handler; closed with the scope. */
export const httpServer = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: TestServer; readonly close: () => Promise<void> }>((resume) => {
      const received: Array<Received> = []
      let state: TestServer | undefined
      const server = createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString("utf8")
          received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body })
          handler(req, res, body, state!)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        state = {
          url: `http://127.0.0.1:${port}`,
          port,
          received,
          hanging: Deferred.unsafeMake<void>(FiberId.none),
          hangingClosed: Deferred.unsafeMake<void>(FiberId.none)
        }
        resume(Effect.succeed({
          server: state,
          close: () =>
            new Promise<void>((done) => {
              server.closeAllConnections()
              server.close(() => done())
            })
        }))
      })
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ server }) => server))

/** A handler that never answers, noting when the request arrived and when its connection closed. */
export const hang = (req: IncomingMessage, server: TestServer): void => {
  req.socket.on("close", () => Deferred.unsafeDone(server.hangingClosed, Exit.void))
  Deferred.unsafeDone(server.hanging, Exit.void)
}

/** A port nothing listens on (a server was bound to it and closed). */
export const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
