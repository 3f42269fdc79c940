/**
 * The MCP provider against server-everything serving Streamable HTTP, forced onto 127.0.0.1: it listens nowhere
 * else, its tools are discovered and called over HTTP, bad params never reach it, and interruption cancels a call.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { type Json, Protocol } from "@gleitzeit/core"
import { McpProvider, ProviderRegistry } from "@gleitzeit/providers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { existsSync, readFileSync } from "node:fs"
import { connect } from "node:net"
import { networkInterfaces } from "node:os"
import { join } from "node:path"
import { ctx } from "./helpers.js"
import * as Servers from "./mcpServers.js"

Servers.requireServers()

const temp = Servers.tempDir("gleitzeit-mcp-http-")
const requestLog = join(temp.dir, "requests.log")
/** Every JSON-RPC message the HTTP server received so far. */
const received = (): Array<{ method?: string; id?: number; params?: Record<string, unknown> }> =>
  existsSync(requestLog)
    ? readFileSync(requestLog, "utf8").split("\n").filter((l) => l.trim() !== "").flatMap((l) => {
      const parsed = JSON.parse(l) as unknown
      return Array.isArray(parsed) ? parsed : [parsed]
    })
    : []

let http: Awaited<ReturnType<typeof Servers.startEverythingHttp>>
beforeAll(async () => {
  http = await Servers.startEverythingHttp(undefined, requestLog)
})
afterAll(async () => {
  await http?.close()
  temp.cleanup()
})

const refused = (host: string, port: number) =>
  new Promise<boolean>((ok) => {
    const socket = connect({ host, port })
    socket.once("connect", () => {
      socket.destroy()
      ok(false)
    })
    socket.once("error", () => ok(true))
  })

const withRegistry = <A, E>(effect: Effect.Effect<A, E, ProviderRegistry.ProviderRegistry>) =>
  effect.pipe(
    Effect.provide(
      McpProvider.layerServers([Servers.server("web", { _tag: "http", url: http.url })]).pipe(
        Layer.provideMerge(ProviderRegistry.layer)
      )
    )
  )

const call = (method: string, params: Json.Json) =>
  Effect.gen(function*() {
    const registry = yield* ProviderRegistry.ProviderRegistry
    const resolved = registry.lookup(method)!
    const checked = Protocol.checkParams(resolved.method, params)
    if (Either.isLeft(checked)) return yield* Effect.fail(new Error(Protocol.renderIssues(checked.left)))
    return yield* resolved.provider.execute(resolved.method, checked.right, ctx)
  })

describe("MCP provider (Streamable HTTP)", () => {
  it("server-everything listens on 127.0.0.1 only", async () => {
    assert.strictEqual(http.address, "127.0.0.1")
    assert.isFalse(await refused("127.0.0.1", http.port))
    const others = Object.values(networkInterfaces()).flat().filter((a) => a !== undefined && !a.internal)
    for (const a of others) assert.isTrue(await refused(a!.address, http.port), `reachable on ${a!.address}`)
  })

  it.live(
    "discovers and calls tools over HTTP; bad params fail before the call",
    () =>
      withRegistry(Effect.gen(function*() {
        const registry = yield* ProviderRegistry.ProviderRegistry
        assert.isDefined(registry.catalog().lookup("mcp/web/echo"))
        assert.isDefined(registry.catalog().lookup("mcp/web/get-sum"))
        const echo = yield* call("mcp/web/echo", { message: "over http" })
        assert.strictEqual((echo as { response: string }).response, "Echo: over http")
        const sums = () =>
          received().filter((m) => m.method === "tools/call" && m.params?.["name"] === "get-sum").length
        const bad = yield* Effect.flip(call("mcp/web/get-sum", { a: 1 }))
        assert.match(bad.message, /b/)
        assert.strictEqual(sums(), 0, "the server never saw the bad call")
        yield* call("mcp/web/get-sum", { a: 1, b: 2 })
        assert.strictEqual(sums(), 1)
        const ping = yield* call("mcp/ping", {})
        assert.isTrue((ping as { servers: Array<{ ok: boolean }> }).servers[0]!.ok)
      })),
    30_000
  )

  it.live(
    "interrupting a long-running tool over HTTP sends notifications/cancelled to the server",
    () =>
      withRegistry(Effect.gen(function*() {
        const fiber = yield* Effect.fork(call("mcp/web/trigger-long-running-operation", { duration: 30, steps: 30 }))
        const request = yield* Effect.sync(() =>
          received().find((m) => m.method === "tools/call" && m.params?.["name"] === "trigger-long-running-operation")
        ).pipe(
          Effect.filterOrFail((m) => m !== undefined),
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(10))))
        )
        const start = performance.now()
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit))
        assert.isBelow(performance.now() - start, 2000)
        yield* Effect.sync(() =>
          received().find((m) => m.method === "notifications/cancelled" && m.params?.["requestId"] === request!.id)
        ).pipe(
          Effect.filterOrFail((m) => m !== undefined),
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(5))))
        )
        const echo = yield* call("mcp/web/echo", { message: "still there" })
        assert.strictEqual((echo as { response: string }).response, "Echo: still there")
      })),
    30_000
  )

  it.live(
    "a server that is down at start-up gets its tools registered once the health loop connects it",
    () =>
      Effect.gen(function*() {
        const port = yield* Effect.promise(() => Servers.freePort())
        const late = Servers.server("late", { _tag: "http", url: `http://127.0.0.1:${port}/mcp` })
        yield* Effect.gen(function*() {
          const registry = yield* ProviderRegistry.ProviderRegistry
          assert.isDefined(registry.lookup("mcp/late/tools/list"))
          assert.isUndefined(registry.lookup("mcp/late/echo"))
          const server = yield* Effect.acquireRelease(
            Effect.promise(() => Servers.startEverythingHttp(port)),
            (started) => Effect.promise(() => started.close())
          )
          assert.strictEqual(server.address, "127.0.0.1")
          yield* Effect.sync(() => registry.lookup("mcp/late/echo")).pipe(
            Effect.filterOrFail((r) => r !== undefined),
            Effect.retry(Schedule.spaced(Duration.millis(100)).pipe(Schedule.upTo(Duration.seconds(15))))
          )
          const echo = yield* call("mcp/late/echo", { message: "late" })
          assert.strictEqual((echo as { response: string }).response, "Echo: late")
        }).pipe(
          Effect.provide(
            McpProvider.layerServers([late], { checkInterval: Duration.millis(200) }).pipe(
              Layer.provideMerge(ProviderRegistry.layer)
            )
          )
        )
      }).pipe(Effect.scoped),
    30_000
  )
})
