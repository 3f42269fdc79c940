/**
 * The LLM provider with its rate limits in Redis: two providers ("nodes") on one key prefix, each given the Redis
 * `RateLimiter.Backend`, share a model's budget. Needs Redis and the test LLM server (node-llama-cpp).
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimiter, Redis } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { call, endpoint, llmServers, makeProvider } from "./llmHelpers.js"
import { requireRedis, twoNodes } from "./redisHelpers.js"

requireRedis()
const servers = llmServers(1)

/** A provider on `node` whose limiter is the Redis backend; its endpoint is named after the node. */
const providerOn = (node: Redis.Redis["Type"], name: string) =>
  makeProvider({
    endpoints: [endpoint(servers()[0]!, "ollama", name)],
    rateLimits: [{ model: "tiny-chat", requestsPerMinute: 2 }]
  }).pipe(Effect.provide(RateLimiter.layerRedis().pipe(Layer.provide(Layer.succeed(Redis.Redis, node)))))

const bucket = (node: Redis.Redis["Type"]) =>
  Effect.map(node.use("hgetall", (c) => c.hgetall(node.key("ratelimit:model:tiny-chat"))), (hash) => ({
    requests: Number(hash["requests"]),
    updatedAt: Number(hash["updatedAt"])
  }))

describe("LlmProvider with RateLimiter.Backend on Redis", () => {
  const hi = { model: "tiny-chat", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }

  it.scoped("two providers on one prefix share a model's requests per minute", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoNodes
      const onA = yield* providerOn(a, "node-a")
      const onB = yield* providerOn(b, "node-b")
      yield* call(onA, "llm/chat", hi)
      yield* call(onA, "llm/chat", hi)
      assert.isBelow((yield* bucket(a)).requests, 1e-3, "node A's two calls used the shared budget")
      const third = yield* Effect.fork(call(onB, "llm/chat", hi))
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual((yield* Fiber.join(third)).instance, "node-b")
      // The bucket only lets a request through once it holds one, so B's call took it at the 30 s refill, not before.
      const after = yield* bucket(b)
      assert.strictEqual(after.updatedAt, 30_000)
      assert.isBelow(after.requests, 1e-3)
    }))
})
