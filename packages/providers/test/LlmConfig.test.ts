import { assert, describe, it } from "@effect/vitest"
import { LlmConfig } from "@gleitzeit/providers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

describe("LlmConfig", () => {
  it.effect("reads endpoints (API key redacted), strategy, rate limits and cache from the llm section", () =>
    Effect.gen(function*() {
      const settings = yield* Effect.withConfigProvider(
        LlmConfig.config,
        ConfigProvider.fromJson({
          strategy: "model_affinity",
          endpoints: [
            { name: "a", url: "http://a:11434", tags: ["gpu"], weight: 2 },
            { name: "b", type: "openai", url: "http://b/v1", api_key: "sk-secret", models: ["m"] }
          ],
          rate_limits: [{ model: "m", tokens_per_minute: 1000 }],
          request_timeout: "2 minutes",
          discover_ports: [11434, 11435]
        })
      )
      assert.strictEqual(settings.strategy, "model_affinity")
      assert.deepStrictEqual(settings.endpoints.map((e) => [e.name, e.type, e.weight, e.tags]), [
        ["a", "ollama", 2, ["gpu"]],
        ["b", "openai", 1, []]
      ])
      assert.strictEqual(Redacted.value(settings.endpoints[1]!.apiKey!), "sk-secret")
      assert.notInclude(JSON.stringify(settings), "sk-secret")
      assert.deepStrictEqual(settings.rateLimits, [{ model: "m", tokensPerMinute: 1000 }])
      assert.strictEqual(settings.cache.enabled, true)
      assert.deepStrictEqual(settings.discoverPorts, [11434, 11435])
    }))

  it("maps the predecessor's providers block (Ollama pool with instances and a strategy), warning on the rest", () => {
    const mapped = LlmConfig.fromProviders({
      ollama: {
        instances: [
          { id: "gpu", url: "http://10.0.0.5:11434", models: ["llama3"], weight: 3, tags: ["gpu"] },
          { host: "localhost:11434" },
          { id: "broken" }
        ],
        load_balancing: { strategy: "least_loaded" }
      },
      openai: { url: "http://vllm:8000/v1", strategy: "fastest" },
      mcp: { servers: [] }
    })
    assert.deepStrictEqual(mapped.endpoints.map((e) => [e.name, e.type, e.url, e.weight]), [
      ["gpu", "ollama", "http://10.0.0.5:11434", 3],
      ["ollama-2", "ollama", "http://localhost:11434", 1],
      ["openai-1", "openai", "http://vllm:8000/v1", 1]
    ])
    assert.strictEqual(mapped.strategy, "least_loaded")
    assert.strictEqual(mapped.warnings.length, 2)
    assert.include(mapped.warnings[0], "no url")
    assert.include(mapped.warnings[1], "unknown load-balancing strategy 'fastest'")
    const merged = LlmConfig.merge(LlmConfig.LlmConfig.defaults, mapped)
    assert.strictEqual(merged.endpoints.length, 3)
    assert.strictEqual(merged.strategy, "least_loaded")
  })
})
