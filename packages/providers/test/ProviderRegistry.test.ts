import { assert, describe, it } from "@effect/vitest"
import { Protocol } from "@gleitzeit/core"
import { DemoToolsProvider, FnProvider, HttpProvider, type Provider, ProviderRegistry } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"

const llmLike: Provider.Provider = {
  id: "llm-like",
  spec: Protocol.make("llm/v1", [
    Protocol.method({
      name: "llm/complete",
      protocol: "llm/v1",
      aliases: ["llm/generate"],
      description: "complete a prompt",
      params: Schema.Struct({ prompt: Schema.String })
    })
  ]),
  execute: () => Effect.succeed("done"),
  health: Effect.succeed({ status: "degraded", detail: "one instance down" })
}

describe("ProviderRegistry", () => {
  it.effect("looks up every method and alias of the registered providers", () =>
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry.make
      yield* registry.register(DemoToolsProvider.provider)
      yield* registry.register(llmLike)
      assert.strictEqual(registry.lookup("mcp/tool.add")?.provider.id, "demo-tools")
      assert.strictEqual(registry.lookup("llm/complete")?.provider.id, "llm-like")
      assert.strictEqual(registry.lookup("llm/generate")?.method.name, "llm/complete")
      assert.isUndefined(registry.lookup("llm/chat"))
      const catalog = registry.catalog()
      assert.strictEqual(catalog.lookup("llm/generate")?.name, "llm/complete")
      assert.includeMembers(catalog.methods.map((m) => m.name), ["mcp/tool.echo", "llm/complete"])
      assert.deepStrictEqual(registry.providers().map((p) => p.id), ["demo-tools", "llm-like"])
    }))

  it.effect("rejects a second provider with the same id or a clashing method, keeping the registry as it was", () =>
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry.make
      yield* registry.register(llmLike)
      const twice = yield* Effect.exit(registry.register(llmLike))
      assert.isTrue(Exit.isFailure(twice))
      const clash: Provider.Provider = { ...llmLike, id: "other-llm" }
      const clashed = yield* Effect.exit(registry.register(clash))
      assert.isTrue(Exit.isFailure(clashed))
      assert.deepStrictEqual(registry.providers().map((p) => p.id), ["llm-like"])
      assert.strictEqual(registry.lookup("llm/generate")?.provider.id, "llm-like")
    }))

  it.effect("unregistering removes a provider's methods from lookups and the catalog", () =>
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry.make
      yield* registry.register(llmLike)
      assert.isDefined(registry.catalog().lookup("llm/complete"))
      yield* registry.unregister("llm-like")
      assert.isUndefined(registry.lookup("llm/complete"))
      assert.isUndefined(registry.catalog().lookup("llm/generate"))
    }))

  it.effect("reports the health of every provider", () =>
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry.make
      yield* registry.register(DemoToolsProvider.provider)
      yield* registry.register(llmLike)
      assert.deepStrictEqual(yield* registry.health, [
        { id: "demo-tools", health: { status: "healthy" } },
        { id: "llm-like", health: { status: "degraded", detail: "one instance down" } }
      ])
    }))

  it.effect("provider layers register while their scope is open and unregister when it closes", () =>
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry.make
      const scope = yield* Scope.make()
      const providers = Layer.mergeAll(
        DemoToolsProvider.layer,
        FnProvider.layer([FnProvider.sync("one", () => 1)]),
        HttpProvider.layer.pipe(Layer.provide(HttpProvider.HttpConfig.layer()))
      ).pipe(Layer.provide(Layer.succeed(ProviderRegistry.ProviderRegistry, registry)))
      yield* Layer.buildWithScope(providers, scope)
      assert.deepStrictEqual(registry.providers().map((p) => p.id).sort(), ["demo-tools", "fn", "http"])
      assert.isDefined(registry.lookup("http/request"))
      assert.isDefined(registry.lookup("fn/one"))
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(registry.providers(), [])
      assert.isUndefined(registry.lookup("http/request"))
    }))
})
