import { assert, describe, it } from "@effect/vitest"
import type { ProviderError } from "@gleitzeit/core"
import { HttpProvider } from "@gleitzeit/providers"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { call, closedPort, hang, httpServer, type TestServer } from "./helpers.js"

/** The HTTP provider with its agent in the test's scope. */
const provider = (config: Partial<typeof HttpProvider.HttpConfig.Service> = {}) =>
  HttpProvider.make.pipe(Effect.provide(HttpProvider.HttpConfig.layer(config)))

/** The server most tests use. */
const server = httpServer((req, res, body, self) => {
  const url = new URL(req.url ?? "/", "http://localhost")
  switch (url.pathname) {
    case "/json":
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "x-answer": "42" })
      return res.end(JSON.stringify({ hello: "world", n: 1, list: [1, 2] }))
    case "/problem":
      res.writeHead(200, { "content-type": "application/problem+json" })
      return res.end(JSON.stringify({ title: "fine" }))
    case "/text":
      res.writeHead(200, { "content-type": "text/plain" })
      return res.end("plain text, {not json}")
    case "/echo":
      res.writeHead(200, { "content-type": "application/json" })
      return res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }))
    case "/status": {
      const status = Number(url.searchParams.get("code"))
      if (url.searchParams.get("json") === "1") {
        res.writeHead(status, { "content-type": "application/json" })
        return res.end(JSON.stringify({ error: "nope", status }))
      }
      res.writeHead(status, { "content-type": "text/plain" })
      return res.end(`status ${status}`)
    }
    case "/bad-json":
      res.writeHead(200, { "content-type": "application/json" })
      return res.end("{ this is not json")
    case "/big":
      res.writeHead(200, { "content-type": "text/plain" })
      return res.end("x".repeat(Number(url.searchParams.get("size"))))
    case "/redirect":
      res.writeHead(302, { location: "/json" })
      return res.end()
    case "/hang":
      return hang(req, self)
    default:
      res.writeHead(404)
      return res.end()
  }
})

const get = (s: TestServer, path: string, extra: Record<string, unknown> = {}) => ({ url: `${s.url}${path}`, ...extra })

const reasonOf = (error: ProviderError.ProviderError) => error.reason

describe("HttpProvider http/request", () => {
  it.scoped("decodes a JSON response body and returns status and response headers", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const result = (yield* call(http, "http/request", get(s, "/json"))) as {
        status: number
        headers: Record<string, string>
        body: unknown
      }
      assert.strictEqual(result.status, 200)
      assert.deepStrictEqual(result.body, { hello: "world", n: 1, list: [1, 2] })
      assert.strictEqual(result.headers["x-answer"], "42")
      assert.strictEqual(result.headers["content-type"], "application/json; charset=utf-8")
      const problem = (yield* call(http, "http/request", get(s, "/problem"))) as { body: unknown }
      assert.deepStrictEqual(problem.body, { title: "fine" })
    }))

  it.scoped("keeps a non-JSON body as text", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const result = (yield* call(http, "http/request", get(s, "/text"))) as { body: unknown }
      assert.strictEqual(result.body, "plain text, {not json}")
    }))

  it.scoped("sends the method, headers and query parameters", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const result = (yield* call(
        http,
        "http/request",
        get(s, "/echo?fixed=1", {
          method: "delete",
          headers: { "x-token": "secret", accept: "application/json" },
          query: { q: "a b&c", page: 2 }
        })
      )) as { body: { method: string; url: string; headers: Record<string, string> } }
      assert.strictEqual(result.body.method, "DELETE")
      const url = new URL(result.body.url, "http://localhost")
      assert.strictEqual(url.pathname, "/echo")
      assert.deepStrictEqual([...url.searchParams.entries()], [["fixed", "1"], ["q", "a b&c"], ["page", "2"]])
      assert.strictEqual(result.body.headers["x-token"], "secret")
      assert.strictEqual(result.body.headers["accept"], "application/json")
    }))

  it.scoped("sends a json body as JSON with content-type application/json, unless a content-type is given", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const payload = { name: "gleitzeit", tags: ["a", "b"], nested: { ok: true } }
      const sent = (yield* call(http, "http/request", get(s, "/echo", { method: "POST", json: payload }))) as {
        body: { headers: Record<string, string>; body: string }
      }
      assert.strictEqual(sent.body.headers["content-type"], "application/json")
      assert.deepStrictEqual(JSON.parse(sent.body.body), payload)
      const custom = (yield* call(
        http,
        "http/request",
        get(s, "/echo", {
          method: "PUT",
          json: [1, 2],
          headers: { "Content-Type": "application/vnd.api+json" }
        })
      )) as { body: { headers: Record<string, string>; body: string } }
      assert.strictEqual(custom.body.headers["content-type"], "application/vnd.api+json")
      assert.strictEqual(custom.body.body, "[1,2]")
      const text = (yield* call(http, "http/request", get(s, "/echo", { method: "POST", body: "raw text" }))) as {
        body: { body: string }
      }
      assert.strictEqual(text.body.body, "raw text")
    }))

  it.scoped("a non-2xx status fails with HttpStatus carrying status and (decoded) body", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const notFound = yield* Effect.flip(call(http, "http/request", get(s, "/status?code=404&json=1")))
      assert.strictEqual(notFound._tag, "ProviderError")
      assert.deepStrictEqual(reasonOf(notFound), {
        _tag: "HttpStatus",
        status: 404,
        body: { error: "nope", status: 404 }
      })
      assert.include(notFound.message, "404")
      const busy = yield* Effect.flip(call(http, "http/request", get(s, "/status?code=503")))
      assert.deepStrictEqual(reasonOf(busy), { _tag: "HttpStatus", status: 503, body: "status 503" })
      // A 3xx that is not followed is not a success either.
      const notModified = yield* Effect.flip(call(http, "http/request", get(s, "/status?code=304")))
      assert.strictEqual(reasonOf(notModified)._tag, "HttpStatus")
    }))

  it.scoped("5xx, 408 and 429 are retryable; other 4xx are not", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const verdicts: Record<number, boolean> = {}
      for (const code of [400, 401, 403, 404, 408, 422, 429, 500, 502, 503]) {
        const error = yield* Effect.flip(call(http, "http/request", get(s, `/status?code=${code}`)))
        verdicts[code] = error.retryable
      }
      assert.deepStrictEqual(verdicts, {
        400: false,
        401: false,
        403: false,
        404: false,
        408: true,
        422: false,
        429: true,
        500: true,
        502: true,
        503: true
      })
    }))

  it.scoped("a refused connection fails with Unavailable (retryable)", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const http = yield* provider()
      const error = yield* Effect.flip(call(http, "http/request", { url: `http://127.0.0.1:${port}/x` }))
      assert.strictEqual(reasonOf(error)._tag, "Unavailable")
      assert.isTrue(error.retryable)
      assert.include(error.message, "ECONNREFUSED")
    }))

  it.scoped("the timeout param fails the request with Timeout and aborts it", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const fiber = yield* Effect.fork(Effect.flip(call(http, "http/request", get(s, "/hang", { timeout: 2 }))))
      yield* Deferred.await(s.hanging)
      yield* TestClock.adjust("1999 millis")
      assert.isNull(fiber.unsafePoll())
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(reasonOf(error)._tag, "Timeout")
      assert.isTrue(error.retryable)
      yield* Deferred.await(s.hangingClosed)
    }))

  it.scoped("without a timeout param the configured default applies", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider({ defaultTimeout: Duration.seconds(5) })
      const fiber = yield* Effect.fork(Effect.flip(call(http, "http/request", get(s, "/hang"))))
      yield* Deferred.await(s.hanging)
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(reasonOf(error)._tag, "Timeout")
    }))

  it.scoped("a response larger than maxResponseBytes fails with TooLarge", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider({ maxResponseBytes: 64 * 1024 })
      const ok = (yield* call(http, "http/request", get(s, "/big?size=65536"))) as { body: string }
      assert.strictEqual(ok.body.length, 65536)
      const error = yield* Effect.flip(call(http, "http/request", get(s, "/big?size=200000")))
      assert.deepStrictEqual(reasonOf(error), { _tag: "TooLarge", limitBytes: 64 * 1024 })
      assert.isFalse(error.retryable)
    }))

  it.scoped("invalid JSON in a successful JSON response fails with BadResponse", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const error = yield* Effect.flip(call(http, "http/request", get(s, "/bad-json")))
      assert.strictEqual(reasonOf(error)._tag, "BadResponse")
    }))

  it.scoped("follows redirects, unless disabled", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const followed = (yield* call(http, "http/request", get(s, "/redirect"))) as { status: number; body: unknown }
      assert.strictEqual(followed.status, 200)
      assert.deepStrictEqual(followed.body, { hello: "world", n: 1, list: [1, 2] })
      const direct = yield* provider({ maxRedirections: 0 })
      const error = yield* Effect.flip(call(direct, "http/request", get(s, "/redirect")))
      assert.deepStrictEqual(reasonOf(error), { _tag: "HttpStatus", status: 302, body: "" })
    }))

  it.scopedLive("interrupting a call aborts the request: the server sees the connection close", () =>
    Effect.gen(function*() {
      const s = yield* server
      const http = yield* provider()
      const fiber = yield* Effect.fork(call(http, "http/request", get(s, "/hang")))
      yield* Deferred.await(s.hanging)
      assert.isFalse(yield* Deferred.isDone(s.hangingClosed))
      yield* Fiber.interrupt(fiber)
      const closed = yield* Deferred.await(s.hangingClosed).pipe(Effect.timeout("2 seconds"), Effect.option)
      assert.strictEqual(closed._tag, "Some", "the connection stayed open after the interruption")
    }))

  it.scoped("reuses connections across requests (keep-alive agent)", () =>
    Effect.gen(function*() {
      const ports = new Set<number>()
      const s = yield* httpServer((req, res) => {
        ports.add(req.socket.remotePort ?? 0)
        res.writeHead(200, { "content-type": "text/plain" })
        res.end("ok")
      })
      const http = yield* provider()
      for (let i = 0; i < 20; i++) yield* call(http, "http/request", get(s, "/"))
      assert.strictEqual(s.received.length, 20)
      // Not a connection per request: undici's pool alternates between at most two sockets here.
      assert.isAtMost(ports.size, 2, `${ports.size} connections for 20 requests`)
    }))
})
