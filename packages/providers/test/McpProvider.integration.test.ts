/**
 * The MCP provider against the real npm servers over stdio: server-everything (behind a tee that logs what reaches
 * the server), server-filesystem and server-memory. Discovery, calls, params checked before the call, `isError`,
 * crash and restart, cancellation reaching the server (per-call overhead is measured by bench/mcp.ts).
 */
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { type Json, Protocol, ProviderError } from "@gleitzeit/core"
import { McpClient, McpProvider, ProviderRegistry } from "@gleitzeit/providers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ctx } from "./helpers.js"
import * as Servers from "./mcpServers.js"

Servers.requireServers()

const temp = Servers.tempDir("gleitzeit-mcp-")
afterAll(() => temp.cleanup())
const files = join(temp.dir, "files")
const everything = Servers.everythingTeed(temp.dir)

writeFileSync(join(temp.dir, "outside.txt"), "secret")
mkdirSync(files, { recursive: true })

/** Params rejected before any provider call, as the engine rejects them. */
class Rejected extends Error {}

/** Looks a method up in the registry, checks its params by its schema and calls its provider (as the engine does). */
const call = (method: string, params: Json.Json) =>
  Effect.gen(function*() {
    const registry = yield* ProviderRegistry.ProviderRegistry
    const resolved = registry.lookup(method)
    if (resolved === undefined) return yield* Effect.die(new Error(`no method ${method}`))
    const checked = Protocol.checkParams(resolved.method, params)
    if (Either.isLeft(checked)) return yield* Effect.fail(new Rejected(Protocol.renderIssues(checked.left)))
    return yield* resolved.provider.execute(resolved.method, checked.right, ctx)
  })

const get = (value: Json.Json, key: string): Json.Json => (value as Record<string, Json.Json>)[key]!

const providers = Layer.suspend(() =>
  McpProvider.layerServers([
    Servers.server("everything", everything.transport),
    Servers.server("filesystem", Servers.filesystem(files)),
    Servers.server("memory", Servers.memory(join(temp.dir, "memory.jsonl")))
  ])
).pipe(Layer.provideMerge(ProviderRegistry.layer))

describe("MCP provider (stdio)", () => {
  layer(providers, { excludeTestServices: true, timeout: Duration.seconds(60) })((it) => {
    it.effect("discovers every tool of every server as mcp/<server>/<tool> in the registry's catalog", () =>
      Effect.gen(function*() {
        const catalog = (yield* ProviderRegistry.ProviderRegistry).catalog()
        for (
          const method of [
            "mcp/everything/echo",
            "mcp/everything/get-sum",
            "mcp/everything/trigger-long-running-operation",
            "mcp/filesystem/read_text_file",
            "mcp/filesystem/write_file",
            "mcp/memory/create_entities",
            "mcp/memory/read_graph",
            "mcp/everything/tools/list",
            "mcp/everything/resources/list",
            "mcp/everything/resources/read",
            "mcp/everything/prompts/list",
            "mcp/everything/prompts/get",
            "mcp/tools/list",
            "mcp/ping"
          ]
        ) assert.isDefined(catalog.lookup(method), method)
        const listed = yield* call("mcp/tools/list", { server: "memory" })
        const names = (get(listed, "tools") as Array<Json.Json>).map((t) => get(t, "method"))
        assert.include(names, "mcp/memory/create_entities")
      }))

    it.effect("calls tools: text content becomes response, structured content is kept", () =>
      Effect.gen(function*() {
        const echo = yield* call("mcp/everything/echo", { message: "hello" })
        assert.strictEqual(get(echo, "response"), "Echo: hello")
        assert.deepStrictEqual(get(echo, "content"), [{ type: "text", text: "Echo: hello" }])
        const sum = yield* call("mcp/everything/get-sum", { a: 2, b: 40 })
        assert.match(get(sum, "response") as string, /42/)
        const weather = yield* call("mcp/everything/get-structured-content", { location: "Chicago" })
        assert.isObject(get(weather, "structuredContent"))
        assert.isString(get(weather, "response"))
      }))

    it.effect("chains filesystem and memory tools, and reads resources and prompts", () =>
      Effect.gen(function*() {
        const path = join(files, "note.txt")
        yield* call("mcp/filesystem/write_file", { path, content: "gleitzeit" })
        const read = yield* call("mcp/filesystem/read_text_file", { path })
        assert.strictEqual(get(read, "response"), "gleitzeit")
        yield* call("mcp/memory/create_entities", {
          entities: [{ name: "note", entityType: "file", observations: [get(read, "response") as string] }]
        })
        const graph = yield* call("mcp/memory/read_graph", {})
        assert.match(get(graph, "response") as string, /gleitzeit/)
        const resources = yield* call("mcp/everything/resources/list", {})
        const first = (get(resources, "resources") as Array<Json.Json>)[0]!
        const contents = yield* call("mcp/everything/resources/read", { uri: get(first, "uri") })
        assert.isAbove((get(contents, "contents") as Array<Json.Json>).length, 0)
        const prompts = yield* call("mcp/everything/prompts/list", {})
        assert.isAbove((get(prompts, "prompts") as Array<Json.Json>).length, 0)
        const prompt = yield* call("mcp/everything/prompts/get", { name: "simple-prompt" })
        assert.isAbove((get(prompt, "messages") as Array<Json.Json>).length, 0)
      }))

    it.effect("rejects params that break the tool's input schema before the call: the server never sees it", () =>
      Effect.gen(function*() {
        const before = everything.received().filter((m) => m.method === "tools/call").length
        const missing = yield* Effect.flip(call("mcp/everything/echo", {}))
        assert.instanceOf(missing, Rejected)
        assert.match(missing.message, /message/)
        const wrongType = yield* Effect.flip(call("mcp/everything/get-sum", { a: "two", b: 1 }))
        assert.match(wrongType.message, /a: Expected number, actual "two"/)
        const notInEnum = yield* Effect.flip(call("mcp/everything/get-structured-content", { location: "Paris" }))
        assert.match(notInEnum.message, /location/)
        const after = everything.received().filter((m) => m.method === "tools/call").length
        assert.strictEqual(after, before)
      }))

    it.effect("an isError result is a typed ExecutionFailed failure with the tool's text", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(call("mcp/filesystem/read_text_file", { path: join(temp.dir, "outside.txt") }))
        assert.instanceOf(error, ProviderError.ProviderError)
        const e = error as ProviderError.ProviderError
        assert.strictEqual(e.reason._tag, "ExecutionFailed")
        assert.match(e.message, /outside allowed directories|Access denied/i)
        assert.isFalse(e.retryable)
      }))

    it.effect("tool annotations decide retries: destructive tools are never retried, read-only ones are", () =>
      Effect.gen(function*() {
        const registry = yield* ProviderRegistry.ProviderRegistry
        assert.isTrue(registry.lookup("mcp/everything/echo")!.method.idempotent)
        assert.isFalse(registry.lookup("mcp/filesystem/write_file")!.method.idempotent)
        const lost = new McpClient.McpError({
          server: "filesystem",
          operation: "tools/call",
          message: "connection lost",
          connection: true
        })
        assert.isTrue(McpProvider.toProviderError("mcp/everything/echo", true)(lost).retryable)
        assert.isFalse(McpProvider.toProviderError("mcp/filesystem/write_file", false)(lost).retryable)
      }))

    it.effect("interrupting a long-running tool sends notifications/cancelled to the server", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          call("mcp/everything/trigger-long-running-operation", { duration: 30, steps: 30 })
        )
        const request = yield* Effect.sync(() =>
          everything.received().find((m) =>
            m.method === "tools/call" && m.params?.["name"] === "trigger-long-running-operation"
          )
        ).pipe(
          Effect.filterOrFail((m) => m !== undefined),
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(10))))
        )
        const start = performance.now()
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit))
        assert.isBelow(performance.now() - start, 2000)
        const cancelled = yield* Effect.sync(() =>
          everything.received().find((m) =>
            m.method === "notifications/cancelled" && m.params?.["requestId"] === request!.id
          )
        ).pipe(
          Effect.filterOrFail((m) => m !== undefined),
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(5))))
        )
        assert.isDefined(cancelled)
      }))

    it.effect("a server that crashed is restarted and the next call works", () =>
      Effect.gen(function*() {
        yield* call("mcp/everything/echo", { message: "before" })
        const pid = everything.pid()
        process.kill(pid, "SIGKILL")
        yield* Effect.try(() => process.kill(pid, 0)).pipe(
          Effect.flip,
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(5))))
        )
        const after = yield* call("mcp/everything/echo", { message: "after" }).pipe(
          Effect.retry({ times: 1, while: (e) => e instanceof ProviderError.ProviderError && e.retryable })
        )
        assert.strictEqual(get(after, "response"), "Echo: after")
        assert.notStrictEqual(everything.pid(), pid)
        const ping = yield* call("mcp/ping", { server: "everything" })
        assert.isTrue(get((get(ping, "servers") as Array<Json.Json>)[0]!, "ok") as boolean)
      }))

    it.effect("a server crashing during a read-only tool's call is a retryable Unavailable failure", () =>
      Effect.gen(function*() {
        const before = everything.received().length
        const fiber = yield* Effect.fork(
          call("mcp/everything/trigger-long-running-operation", { duration: 30, steps: 30 })
        )
        yield* Effect.sync(() =>
          everything.received().slice(before).find((m) =>
            m.method === "tools/call" && m.params?.["name"] === "trigger-long-running-operation"
          )
        ).pipe(
          Effect.filterOrFail((m) => m !== undefined),
          Effect.retry(Schedule.spaced(Duration.millis(20)).pipe(Schedule.upTo(Duration.seconds(10))))
        )
        process.kill(everything.pid(), "SIGKILL")
        const error = yield* Fiber.join(fiber).pipe(Effect.flip)
        assert.instanceOf(error, ProviderError.ProviderError)
        const e = error as ProviderError.ProviderError
        assert.strictEqual(e.reason._tag, "Unavailable")
        assert.isTrue(e.retryable)
        const registry = yield* ProviderRegistry.ProviderRegistry
        assert.isFalse(registry.lookup("mcp/everything/toggle-simulated-logging")!.method.idempotent)
        const after = yield* call("mcp/everything/echo", { message: "back" })
        assert.strictEqual(get(after, "response"), "Echo: back")
      }))
  })
})

const watched = Servers.everythingTeed(join(temp.dir, "watched"))
mkdirSync(join(temp.dir, "watched"), { recursive: true })

describe("MCP provider health loop", () => {
  layer(
    Layer.suspend(() =>
      McpProvider.layerServers([Servers.server("watched", watched.transport)], {
        checkInterval: Duration.millis(200)
      })
    ).pipe(Layer.provideMerge(ProviderRegistry.layer)),
    { excludeTestServices: true, timeout: Duration.seconds(60) }
  )((it) => {
    it.effect("restarts a crashed server before any call needs it, and calls work without a retry", () =>
      Effect.gen(function*() {
        yield* call("mcp/watched/echo", { message: "before" })
        const pid = watched.pid()
        process.kill(pid, "SIGKILL")
        // Back means a new process (started by the check after the one that failed) and a health check it passed
        // since; the new pid alone is seen before that check answers.
        const registry = yield* ProviderRegistry.ProviderRegistry
        const back = Effect.all([
          Effect.try(() => watched.pid()),
          Effect.map(registry.health, (all) => all.find((h) => h.id === "mcp:watched")?.health.status)
        ])
        const [restarted] = yield* back.pipe(
          Effect.filterOrFail(([p, status]) => p !== pid && status === "healthy"),
          Effect.retry(Schedule.spaced(Duration.millis(50)).pipe(Schedule.upTo(Duration.seconds(15))))
        )
        assert.notStrictEqual(restarted, pid)
        const after = yield* call("mcp/watched/echo", { message: "after" })
        assert.strictEqual(get(after, "response"), "Echo: after")
        assert.strictEqual(watched.pid(), restarted, "the call used the restarted server, not one of its own")
      }))
  })
})
