/**
 * `npm run build && node bench/dist/mcp.js`: the per-call overhead Gleitzeit's MCP provider adds over the bare SDK.
 * The same `read_text_file` call to @modelcontextprotocol/server-filesystem over stdio is made N times through a
 * direct SDK connection and N times through the registry (params validated against the tool's schema, the call
 * through the MCP hub), interleaved; prints the medians and their difference.
 */
import { Protocol } from "@gleitzeit/core"
import { McpClient, McpProvider, ProviderRegistry } from "@gleitzeit/providers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { performance } from "node:perf_hooks"

const N = Number(process.env.N ?? 400)
const script = resolve(import.meta.dirname, "../../node_modules/@modelcontextprotocol/server-filesystem/dist/index.js")
const dir = mkdtempSync(join(tmpdir(), "gleitzeit-mcp-bench-"))
const file = join(dir, "note.txt")
writeFileSync(file, "hello")
const transport = { _tag: "stdio" as const, command: process.execPath, args: [script, dir] }
const ctx = { runId: "bench", taskId: "t", attempt: 1, idempotencyKey: "bench/t", emit: () => Effect.void }

const program = Effect.gen(function*() {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const direct = yield* McpClient.make({ name: "direct", transport })
  const resolved = registry.lookup("mcp/filesystem/read_text_file")
  if (resolved === undefined) return yield* Effect.dieMessage("mcp/filesystem/read_text_file was not discovered")
  const params = Protocol.checkParams(resolved.method, { path: file })
  if (Either.isLeft(params)) return yield* Effect.dieMessage(Protocol.renderIssues(params.left))
  const viaSdk = direct.callTool("read_text_file", { path: file })
  const viaGleitzeit = Effect.suspend(() => {
    const checked = Protocol.checkParams(resolved.method, { path: file })
    return Either.isLeft(checked)
      ? Effect.dieMessage("invalid")
      : resolved.provider.execute(resolved.method, checked.right, ctx)
  })
  const sdk: Array<number> = []
  const gleitzeit: Array<number> = []
  for (let i = 0; i < N; i++) {
    const t0 = performance.now()
    yield* viaSdk
    const t1 = performance.now()
    yield* viaGleitzeit
    const t2 = performance.now()
    if (i >= 50) {
      sdk.push(t1 - t0)
      gleitzeit.push(t2 - t1)
    }
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  return { sdk: median(sdk), gleitzeit: median(gleitzeit), n: sdk.length }
}).pipe(Effect.scoped)

const layer = McpProvider.layerServers([{
  name: "filesystem",
  transport,
  connectTimeout: Duration.seconds(20),
  requestTimeout: Duration.seconds(60),
  retryDestructive: false
}]).pipe(Layer.provideMerge(ProviderRegistry.layer))

Effect.runPromise(Effect.provide(program, layer)).then((r) => {
  console.log(`\nMCP per-call latency, server-filesystem over stdio, median of ${r.n} interleaved calls`)
  console.log(`| path               | p50 ms |\n|--------------------|--------|`)
  console.log(`| bare SDK           | ${r.sdk.toFixed(3).padEnd(6)} |`)
  console.log(`| Gleitzeit provider | ${r.gleitzeit.toFixed(3).padEnd(6)} |`)
  console.log(`| overhead           | ${(r.gleitzeit - r.sdk).toFixed(3).padEnd(6)} |`)
  rmSync(dir, { recursive: true, force: true })
}, (error) => {
  console.error(error)
  rmSync(dir, { recursive: true, force: true })
  process.exit(1)
})
