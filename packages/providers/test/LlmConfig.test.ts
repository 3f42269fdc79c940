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
})
