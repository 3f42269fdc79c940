/**
 * The LLM provider against a real test LLM server (node-llama-cpp, random weights) over both wire formats:
 * every method, streaming, structured output, embeddings, errors, cancellation, the cache and fallback models.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import type { Provider } from "@gleitzeit/providers"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  addedSleeps,
  call,
  endpoint,
  failureOf,
  llmServers,
  makeProvider,
  png,
  type Streamed,
  streamedUntil
} from "./llmHelpers.js"

const servers = llmServers(1)
const dir = mkdtempSync(join(tmpdir(), "gleitzeit-llm-test-"))
const imagePath = join(dir, "pixel.png")
const textPath = join(dir, "notes.txt")
writeFileSync(imagePath, png())
writeFileSync(textPath, "the file's content")
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)
const user = { role: "user", content: "x" }

describe.each(["ollama", "openai"] as const)("%s API", (type) => {
  const provider = () => makeProvider({ endpoints: [endpoint(servers()[0]!, type, `${type}-1`)] })

  it.scopedLive("llm/chat streams tokens in order as they arrive, and reports message, usage, model and instance", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const streamed: Streamed = { tokens: [] }
      const result = yield* call(llm, "llm/chat", {
        model: "tiny-chat",
        messages: [{ role: "user", content: "hello" }],
        system: "be brief",
        max_tokens: 12,
        seed: 1
      }, streamed)
      assert.isTrue(streamed.tokens.length > 1, `${streamed.tokens.length} chunks`)
      assert.strictEqual(streamed.tokens.join(""), result.response)
      assert.deepStrictEqual(result.message, { role: "assistant", content: result.response })
      assert.strictEqual(result.model, "tiny-chat")
      assert.strictEqual(result.instance, `${type}-1`)
      assert.isTrue(result.usage.prompt_tokens > 0)
      assert.isTrue(result.usage.completion_tokens > 0 && result.usage.completion_tokens <= 12)
      assert.strictEqual(result.usage.total_tokens, result.usage.prompt_tokens + result.usage.completion_tokens)
      assert.isFalse(result.cached)
      const health = yield* llm.health
      assert.strictEqual(health.status, "healthy")
      const metrics = new RegExp(
        `${type}-1 healthy: 1 requests, 0 errors, p50/p95/p99 \\d+/\\d+/\\d+ ms, [\\d.]+ tokens/s`
      )
      assert.match(health.detail ?? "", metrics, "metrics per endpoint in the health detail")
    }))

  it.scopedLive("llm/chat without streaming gives the same text under a seed, and emits no tokens", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const params = { model: "tiny-chat", messages: [{ role: "user", content: "same" }], max_tokens: 8, seed: 7 }
      const streamed: Streamed = { tokens: [] }
      const whole = yield* call(llm, "llm/chat", { ...params, stream: false }, streamed)
      const again = yield* call(llm, "llm/chat", params)
      assert.deepStrictEqual(streamed.tokens, [])
      assert.strictEqual(whole.response, again.response)
      assert.isTrue(whole.usage.completion_tokens > 0)
    }))

  it.scopedLive("llm/generate (alias of llm/complete) completes a prompt with file_path text appended", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const streamed: Streamed = { tokens: [] }
      const result = yield* call(llm, "llm/generate", {
        model: "tiny-code",
        prompt: "def f(",
        file_path: textPath,
        max_tokens: 6,
        options: { ignore_eos: true }
      }, streamed)
      assert.strictEqual(result.usage.completion_tokens, 6)
      assert.strictEqual(streamed.tokens.join(""), result.response)
      assert.isUndefined(result.message)
      assert.strictEqual(result.done_reason, "length")
    }))

  it.scopedLive("structured output: a JSON schema is enforced, the answer decoded into `parsed`; json: an object", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const format = {
        type: "object",
        properties: { name: { type: "string", maxLength: 8 }, n: { type: "integer" } },
        required: ["name", "n"],
        additionalProperties: false
      }
      const result = yield* call(llm, "llm/chat", {
        model: "tiny-chat",
        messages: [{ role: "user", content: "json please" }],
        format,
        max_tokens: 200,
        seed: 3
      })
      assert.isString(result.parsed.name)
      assert.isTrue(Number.isInteger(result.parsed.n))
      assert.deepStrictEqual(result.parsed, JSON.parse(result.response))
      const any = yield* call(llm, "llm/chat", {
        model: "tiny-chat",
        messages: [{ role: "user", content: "json" }],
        format: "json",
        max_tokens: 200,
        seed: 3
      })
      assert.isObject(any.parsed)
    }))

  it.scopedLive("tools: the answer carries tool_calls with object arguments", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const result = yield* call(llm, "llm/chat", {
        model: "tiny-chat",
        messages: [{ role: "user", content: "weather in Berlin?" }],
        tools: [{
          type: "function",
          function: {
            name: "weather",
            parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 } }, required: ["city"] }
          }
        }],
        seed: 2
      })
      assert.strictEqual(result.tool_calls.length, 1)
      assert.strictEqual(result.tool_calls[0].name, "weather")
      assert.isString(result.tool_calls[0].arguments.city)
      assert.deepStrictEqual(result.message.tool_calls, result.tool_calls)
    }))

  it.scopedLive("llm/vision reads image_path, base64-encodes it and answers like chat", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const result = yield* call(llm, "llm/vision", {
        model: "tiny-chat",
        prompt: "what is in the picture?",
        image_path: imagePath,
        max_tokens: 4
      })
      assert.isString(result.response)
      assert.strictEqual(result.message.role, "assistant")
      assert.isTrue(result.usage.completion_tokens > 0)
    }))

  it.scopedLive("llm/embed embeds one text or a list (llm/embeddings alias): vectors of the model's dimension", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const one = yield* call(llm, "llm/embeddings", { model: "tiny-embed", text: "alpha" })
      assert.strictEqual(one.embedding.length, 64)
      assert.strictEqual(one.embeddings.length, 1)
      const many = yield* call(llm, "llm/embed", { model: "tiny-embed", text: ["alpha", "beta", "gamma"] })
      assert.strictEqual(many.embeddings.length, 3)
      many.embeddings[0].forEach((v: number, i: number) => assert.closeTo(v, one.embedding[i], 1e-6))
      assert.notDeepEqual(many.embeddings[1], many.embeddings[0])
      assert.isTrue(many.usage.prompt_tokens > 0)
      assert.strictEqual(many.instance, `${type}-1`)
    }))

  it.scopedLive("llm/list_models lists the endpoint's models with the instances serving them", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const result = yield* call(llm, "llm/list_models", {})
      const names = result.models.map((m: { name: string }) => m.name)
      assert.includeMembers(names, ["tiny-chat", "tiny-code", "tiny-embed"])
      const chat = result.models.find((m: { name: string }) => m.name === "tiny-chat")
      assert.deepStrictEqual(chat.instances, [`${type}-1`])
    }))

  it.scopedLive("an unknown model is a NotFound ProviderError naming it", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const error = yield* failureOf(call(llm, "llm/chat", { model: "nope", messages: [user] }))
      assert.strictEqual(error.reason._tag, "NotFound")
      assert.include(error.message, "nope")
      assert.isFalse(error.retryable)
    }))

  it.scopedLive("an error mid-stream (HTTP 200) fails the call after the chunks before it were streamed", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const streamed: Streamed = { tokens: [] }
      const error = yield* failureOf(
        call(llm, "llm/chat", { model: "fail-midstream", messages: [{ role: "user", content: "x" }] }, streamed)
      )
      assert.strictEqual(error.reason._tag, "HttpStatus")
      assert.include(error.message, "during generation")
      assert.isTrue(error.retryable)
      assert.strictEqual(streamed.tokens.length, 3)
    }))

  it.scopedLive("a 429 is RateLimited with the server's retry-after", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const server = servers()[0]!
      const path = type === "ollama" ? "/api/chat" : "/v1/chat/completions"
      yield* promise(() => server.fault({ path, status: 429, retryAfter: 3 }))
      const error = yield* failureOf(call(llm, "llm/chat", { model: "tiny-chat", messages: [user] }))
      assert.deepStrictEqual(error.reason, { _tag: "RateLimited", retryAfterMs: 3000 })
    }))

  it.scopedLive("interrupting a streaming call aborts the HTTP request within 100 ms; the server sees it closed", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const server = servers()[0]!
      yield* promise(() => server.reset())
      const streamed = yield* streamedUntil(2)
      const fiber = yield* Effect.fork(call(llm, "llm/chat", {
        model: "tiny-chat",
        messages: [{ role: "user", content: "go on forever" }],
        max_tokens: 4000,
        options: { ignore_eos: true }
      }, streamed))
      yield* Effect.raceFirst(
        streamed.reached,
        Effect.zipRight(Fiber.await(fiber), Effect.dieMessage("the call ended before it streamed 2 chunks"))
      )
      const started = performance.now()
      yield* Fiber.interrupt(fiber)
      assert.isBelow(performance.now() - started, 100)
      const stats = yield* promise(() => server.waitFor((s) => s.aborted === 1 && s.activeGenerations === 0))
      assert.isBelow(stats.aborts[0]!.completionTokens, 4000)
      assert.isTrue(stats.aborts[0]!.streaming)
    }))

  it.scopedLive("a deterministic request with cache: true is answered from the cache the second time", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const server = servers()[0]!
      const params = {
        model: "tiny-chat",
        messages: [{ role: "user", content: "cache me" }],
        max_tokens: 5,
        temperature: 0,
        cache: true
      }
      const first = yield* call(llm, "llm/chat", params)
      const before = (yield* promise(() => server.stats())).total
      const streamed: Streamed = { tokens: [] }
      const second = yield* call(llm, "llm/chat", params, streamed)
      const after = (yield* promise(() => server.stats())).total
      assert.isFalse(first.cached)
      assert.isTrue(second.cached)
      assert.strictEqual(second.response, first.response)
      assert.strictEqual(after, before, "no request reached the server")
      const random = yield* call(llm, "llm/chat", { ...params, temperature: 0.8 })
      assert.isFalse(random.cached, "non-deterministic requests are never cached")
      const embedded = yield* call(llm, "llm/embed", { model: "tiny-embed", text: "x", cache: true })
      const embeddedAgain = yield* call(llm, "llm/embed", { model: "tiny-embed", text: "x", cache: true })
      assert.deepStrictEqual([embedded.cached, embeddedAgain.cached], [false, true])
    }))

  it.scopedLive("fallback models: an unknown model falls back to the next; the result says which one served", () =>
    Effect.gen(function*() {
      const llm = yield* provider()
      const result = yield* call(llm, "llm/chat", {
        model: "missing-model",
        fallback_models: ["fail-midstream", "tiny-code"],
        messages: [{ role: "user", content: "x" }],
        max_tokens: 3
      })
      assert.strictEqual(result.model, "tiny-code")
      assert.strictEqual(result.instance, `${type}-1`)
      const passed = result.fallbacks.map((f: { model: string }) => f.model)
      assert.deepStrictEqual(passed, ["missing-model", "fail-midstream"])
    }))
})

describe("rate limits (TestClock)", () => {
  const hi = { model: "tiny-chat", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }
  /** Longer than any rate-limit wait here, so its sleep on the TestClock is told apart from the limiter's. */
  const requestTimeout = Duration.hours(1)
  const limited = (settings: Parameters<typeof makeProvider>[0]) => makeProvider({ requestTimeout, ...settings })

  /**
   * Forks a call and tells whether a rate limit holds it. A call takes its rate limits before it sends, then sends
   * under its request timeout; so the first sleep it adds to the TestClock is the limiter's wait when it is held,
   * and its request timeout when it was let through. Resolves on that observation (or the call's end), never on
   * elapsed time.
   */
  const fork = (llm: Provider.Provider, params: Record<string, unknown>) =>
    Effect.gen(function*() {
      const before = yield* TestClock.sleeps()
      const now = yield* Clock.currentTimeMillis
      const fiber = yield* Effect.fork(call(llm, "llm/chat", params))
      const held = Effect.gen(function*() {
        while (true) {
          if (Option.isSome(yield* Fiber.poll(fiber))) return false
          const added = addedSleeps(before, yield* TestClock.sleeps())
          if (added.length > 0) return added.some((at) => at < now + Duration.toMillis(requestTimeout))
          yield* Effect.yieldNow()
        }
      })
      return { fiber, held }
    })

  it.scoped("requests per minute of a model hold the next call until TestClock has moved on", () =>
    Effect.gen(function*() {
      const llm = yield* limited({
        endpoints: [endpoint(servers()[0]!, "ollama", "limited")],
        rateLimits: [{ model: "tiny-chat", requestsPerMinute: 2 }]
      })
      yield* call(llm, "llm/chat", hi)
      yield* call(llm, "llm/chat", hi)
      const third = yield* fork(llm, hi)
      assert.isTrue(yield* third.held)
      yield* TestClock.adjust("30 seconds")
      const result = yield* Fiber.join(third.fiber)
      assert.strictEqual(result.instance, "limited")
    }))

  it.scoped("tokens per minute count the estimate, then the real usage of each call", () =>
    Effect.gen(function*() {
      const llm = yield* limited({
        endpoints: [endpoint(servers()[0]!, "openai", "metered")],
        rateLimits: [{ endpoint: "metered", tokensPerMinute: 1000 }]
      })
      const first = yield* call(llm, "llm/chat", { ...hi, max_tokens: 500, seed: 5 })
      assert.isBelow(first.usage.total_tokens, 250, "the settled usage is far below the 500 reserved")
      // Without the refund 499 of 1000 tokens would be left and the second call would wait for a TestClock refill.
      const second = yield* fork(llm, { ...hi, max_tokens: 500, seed: 5 })
      assert.isFalse(yield* second.held, "refunded tokens let the second call through at once")
      assert.isBelow((yield* Fiber.join(second.fiber)).usage.total_tokens, 250)
      const third = yield* fork(llm, { ...hi, max_tokens: 990, seed: 5 })
      assert.isTrue(yield* third.held, "what the two calls really used leaves too few tokens for 990 more")
      yield* TestClock.adjust("60 seconds")
      assert.isTrue((yield* Fiber.join(third.fiber)).usage.total_tokens > 0)
    }))

  it.scoped("a 429's retry-after blocks the endpoint for that long", () =>
    Effect.gen(function*() {
      const server = servers()[0]!
      const llm = yield* limited({ endpoints: [endpoint(server, "ollama", "busy")] })
      yield* Effect.promise(() => server.fault({ path: "/api/chat", status: 429, retryAfter: 20 }))
      const refused = yield* failureOf(call(llm, "llm/chat", hi))
      assert.strictEqual(refused.reason._tag, "RateLimited")
      const next = yield* fork(llm, hi)
      assert.isTrue(yield* next.held)
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual((yield* Fiber.join(next.fiber)).instance, "busy")
    }))
})

describe("discovery", () => {
  it.scopedLive("discover_ports adds each local port answering as Ollama, and skips closed ports", () =>
    Effect.gen(function*() {
      const server = servers()[0]!
      const closed = yield* Effect.promise(() =>
        new Promise<number>((resolve) => {
          const probe = createServer().listen(0, "127.0.0.1", () => {
            const { port } = probe.address() as AddressInfo
            probe.close(() => resolve(port))
          })
        })
      )
      const llm = yield* makeProvider({ discoverPorts: [closed, server.port] })
      const listed = yield* call(llm, "llm/list_models", {})
      const chat = listed.models.find((m: { name: string }) => m.name === "tiny-chat")
      assert.deepStrictEqual(chat.instances, [`local-${server.port}`])
      const result = yield* call(llm, "llm/chat", {
        model: "tiny-chat",
        messages: [{ role: "user", content: "x" }],
        max_tokens: 2
      })
      assert.strictEqual(result.instance, `local-${server.port}`)
    }))
})
