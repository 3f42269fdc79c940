/**
 * A real HTTP server on 127.0.0.1 for end-to-end tests: counts hits per path, can hold requests open until
 * released, and reports when a held request's connection was closed by the client.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/** The test server. */
export interface TestServer {
  readonly url: string
  /** Hits per path. */
  readonly hits: Map<string, number>
  /** Paths whose requests are held open (never answered) until `release`. */
  readonly hold: Set<string>
  /** Resolves when a request for `path` arrived (counting from now or earlier arrivals). */
  readonly arrived: (path: string) => Promise<void>
  /** Resolves when the client closed a held request's connection for `path`. */
  readonly closed: (path: string) => Promise<void>
  /** Answers held requests of `path` and stops holding it. */
  readonly release: (path: string) => void
  readonly close: () => Promise<void>
}

const settle = (map: Map<string, Array<() => void>>, key: string) => {
  for (const f of map.get(key) ?? []) f()
  map.delete(key)
}

/** Starts the server on a free port. */
export const startServer = async (): Promise<TestServer> => {
  const hits = new Map<string, number>()
  const hold = new Set<string>()
  const held = new Map<string, Array<ServerResponse>>()
  const arrivedWaiters = new Map<string, Array<() => void>>()
  const closedWaiters = new Map<string, Array<() => void>>()
  const closedPaths = new Set<string>()
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ path, hits: hits.get(path) ?? 0 }))
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname
    hits.set(path, (hits.get(path) ?? 0) + 1)
    settle(arrivedWaiters, path)
    if (hold.has(path)) {
      const list = held.get(path) ?? []
      list.push(res)
      held.set(path, list)
      res.on("close", () => {
        if (!res.writableEnded) {
          closedPaths.add(path)
          settle(closedWaiters, path)
        }
      })
      return
    }
    answer(req, res)
  })
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    hold,
    arrived: (path) =>
      (hits.get(path) ?? 0) > 0 ? Promise.resolve() : new Promise((r) => {
        arrivedWaiters.set(path, [...(arrivedWaiters.get(path) ?? []), r])
      }),
    closed: (path) =>
      closedPaths.has(path) ? Promise.resolve() : new Promise((r) => {
        closedWaiters.set(path, [...(closedWaiters.get(path) ?? []), r])
      }),
    release: (path) => {
      hold.delete(path)
      for (const res of held.get(path) ?? []) {
        if (!res.writableEnded && !res.destroyed) {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify({ path, released: true }))
        }
      }
      held.delete(path)
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
}
