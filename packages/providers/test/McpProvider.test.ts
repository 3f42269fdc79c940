/**
 * The MCP provider without servers: the predecessor's `mcp/tools/list` and `mcp/ping` exist and report nothing.
 */
import { assert, describe, it } from "@effect/vitest"
import { McpProvider, ProviderRegistry } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { call } from "./helpers.js"

const layer = McpProvider.layerServers([]).pipe(Layer.provideMerge(ProviderRegistry.layer))

describe("MCP provider without servers", () => {
  it.scoped("serves mcp/tools/list and mcp/ping with empty answers", () =>
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry.ProviderRegistry
      const provider = registry.lookup("mcp/tools/list")!.provider
      assert.deepStrictEqual(yield* call(provider, "mcp/tools/list", {}), { tools: [] })
      assert.deepStrictEqual(yield* call(provider, "mcp/ping", {}), { servers: [] })
      const unknown = yield* Effect.flip(call(provider, "mcp/ping", { server: "nope" }))
      assert.strictEqual(unknown.reason._tag, "NotFound")
    }).pipe(Effect.provide(layer)))
})
