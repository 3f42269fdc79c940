/**
 * The LLM hub over three real test LLM server processes: load balancing, model routing and affinity, failover
 * when a server is killed, and the circuit breaker's open → half-open → closed cycle.
 */
import { assert, describe, it } from "@effect/vitest"
import { LlmConfig, LlmProvider } from "@gleitzeit/providers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { startLlmServer } from "../../../test/llm/launch.js"
import { call, endpoint, llmServers, makeProvider } from "./llmHelpers.js"

const servers = llmServers(3, ["tiny-chat", "tiny-code"])

const chat = (model = "tiny-chat") => ({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 2 })

const countBy = (values: ReadonlyArray<string>) => {
  const counts: Record<string, number> = {}
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1
  return counts
}

const three = (extra: (i: number) => Partial<LlmConfig.Endpoint> = () => ({})) =>
  servers().map((server, i) => endpoint(server, i === 1 ? "openai" : "ollama", `llm-${i}`, extra(i)))

describe("LLM hub", () => {
  it.scopedLive("round_robin spreads calls evenly over three servers (Ollama and OpenAI endpoints mixed)", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() => Promise.all(servers().map((s) => s.reset())))
      const llm = yield* makeProvider({ endpoints: three(), strategy: "round_robin" })
      const results = yield* Effect.forEach(Array.from({ length: 9 }), () => call(llm, "llm/chat", chat()))
      assert.deepStrictEqual(countBy(results.map((r) => r.instance)), { "llm-0": 3, "llm-1": 3, "llm-2": 3 })
      const stats = yield* Effect.promise(() => Promise.all(servers().map((s) => s.stats())))
      assert.deepStrictEqual(stats.map((s) => s.models["tiny-chat:latest"]), [3, 3, 3])
    }))

  it.scopedLive("concurrent calls under least_loaded use every server", () =>
    Effect.gen(function*() {
      const llm = yield* makeProvider({ endpoints: three(), strategy: "least_loaded" })
      const results = yield* Effect.forEach(
        Array.from({ length: 6 }),
        () => call(llm, "llm/chat", { ...chat(), max_tokens: 8 }),
        { concurrency: 6 }
      )
      assert.deepStrictEqual(Object.keys(countBy(results.map((r) => r.instance))).sort(), ["llm-0", "llm-1", "llm-2"])
    }))

  it.scopedLive("a call only reaches an endpoint that serves its model", () =>
    Effect.gen(function*() {
      const llm = yield* makeProvider({
        endpoints: three((i) => ({ models: i === 2 ? ["tiny-code"] : ["tiny-chat"] })),
        strategy: "round_robin"
      })
      const code = yield* Effect.forEach(Array.from({ length: 3 }), () => call(llm, "llm/chat", chat("tiny-code")))
      const chats = yield* Effect.forEach(Array.from({ length: 4 }), () => call(llm, "llm/chat", chat()))
      assert.deepStrictEqual(code.map((r) => r.instance), ["llm-2", "llm-2", "llm-2"])
      assert.deepStrictEqual(countBy(chats.map((r) => r.instance)), { "llm-0": 2, "llm-1": 2 })
      const listed = yield* call(llm, "llm/list_models", {})
      assert.deepStrictEqual(listed.models, [
        { name: "tiny-chat", instances: ["llm-0", "llm-1"] },
        { name: "tiny-code", instances: ["llm-2"] }
      ])
    }))

  it.scopedLive("model_affinity keeps sending a model to the endpoint that served it last", () =>
    Effect.gen(function*() {
      const llm = yield* makeProvider({ endpoints: three(), strategy: "model_affinity" })
      const chats = yield* Effect.forEach(Array.from({ length: 5 }), () => call(llm, "llm/chat", chat()))
      const codes = yield* Effect.forEach(Array.from({ length: 5 }), () => call(llm, "llm/chat", chat("tiny-code")))
      assert.strictEqual(new Set(chats.map((r) => r.instance)).size, 1)
      assert.strictEqual(new Set(codes.map((r) => r.instance)).size, 1)
    }))

  it.scopedLive("failover: when a server is killed, its calls move to the others and every call succeeds", () =>
    Effect.gen(function*() {
      const doomed = yield* Effect.acquireRelease(
        Effect.promise(() => startLlmServer({ models: ["tiny-chat"] })),
        (server) => Effect.promise(() => server.stop())
      )
      const llm = yield* makeProvider({
        endpoints: [...three(), endpoint(doomed, "ollama", "doomed")],
        strategy: "round_robin",
        retryOnOtherInstance: 2,
        failureThreshold: 1
      })
      const before = yield* Effect.forEach(Array.from({ length: 4 }), () => call(llm, "llm/chat", chat()))
      assert.include(before.map((r) => r.instance), "doomed")
      doomed.kill()
      yield* Effect.promise(() => doomed.exited)
      const after = yield* Effect.forEach(Array.from({ length: 8 }), () => call(llm, "llm/chat", chat()))
      assert.notInclude(after.map((r) => r.instance), "doomed")
      assert.strictEqual(after.length, 8)
      const health = yield* llm.health
      assert.strictEqual(health.status, "degraded")
    }))

  it.scoped("breaker: two 503s open it (calls are refused without reaching the server), half-open, closed", () =>
    Effect.gen(function*() {
      const server = servers()[0]!
      const hub = yield* LlmProvider.makeHub({
        ...LlmConfig.LlmConfig.defaults,
        endpoints: [endpoint(server, "ollama", "solo")],
        failureThreshold: 2,
        resetTimeout: Duration.seconds(30),
        healthInterval: Duration.minutes(10),
        retryOnOtherInstance: 0
      })
      const use = hub.use(
        { capability: "tiny-chat", method: "llm/chat" },
        (i) =>
          i.resource.chat(
            { model: "tiny-chat", messages: [{ role: "user", content: "x" }], maxTokens: 2, stream: true },
            () => Effect.void
          )
      )
      const breaker = Effect.map(hub.instances, (all) => all[0]!.breaker.state)
      yield* Effect.promise(() => server.reset())
      yield* Effect.promise(() => server.fault({ path: "/api/chat", status: 503, count: 2 }))
      const first = yield* Effect.flip(use)
      const second = yield* Effect.flip(use)
      assert.deepStrictEqual([first.reason._tag, second.reason._tag], ["HttpStatus", "HttpStatus"])
      assert.strictEqual(yield* breaker, "open")
      const refused = yield* Effect.flip(use)
      assert.strictEqual(refused.reason._tag, "Unavailable")
      assert.include(refused.message, "circuit open")
      assert.strictEqual((yield* Effect.promise(() => server.stats())).requests["POST /api/chat"], 2)
      // The reset timeout runs on the TestClock: open until it has passed, half-open from then on.
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual(yield* breaker, "open")
      assert.include((yield* Effect.flip(use)).message, "circuit open")
      assert.strictEqual((yield* Effect.promise(() => server.stats())).requests["POST /api/chat"], 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* breaker, "half_open")
      yield* use
      assert.strictEqual(yield* breaker, "closed")
    }))
})
