/**
 * The LLM test server (test/llm) against its wire-format contract, over real HTTP with plain `fetch`: real
 * inference by node-llama-cpp on random-weight GGUF models. Assertions are on structure, streaming, counts,
 * determinism and errors, never on the (gibberish) text.
 */
import { afterAll, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { JSONSchema, Schema } from "effect"
import { type LlmServer, startLlmServer } from "./llm/launch.js"

let llm: LlmServer
let unavailable: unknown

// A server that cannot start fails every test with the reason (naming node-llama-cpp), instead of skipping them.
beforeAll(async () => {
  try {
    llm = await startLlmServer({ models: ["tiny-chat", "tiny-code", "tiny-embed", "fail-midstream"] })
  } catch (error) {
    unavailable = error
  }
})
beforeEach(() => {
  if (unavailable !== undefined) throw unavailable
})
afterAll(() => llm?.stop())

type Json = Record<string, any>

const post = (path: string, body: unknown, init: RequestInit = {}) =>
  fetch(`${llm.url}${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    ...init
  })

const postJson = async (path: string, body: unknown) => {
  const response = await post(path, body)
  const json = (await response.json()) as Json
  assert.strictEqual(response.status, 200, JSON.stringify(json))
  return json
}

const ndjson = async (response: Response): Promise<Array<Json>> => {
  const text = await response.text()
  assert.isTrue(text.endsWith("\n"), "every NDJSON line ends with a newline")
  return text.trimEnd().split("\n").map((line) => JSON.parse(line) as Json)
}

const sse = async (response: Response): Promise<Array<Json | "[DONE]">> => {
  const text = await response.text()
  const events = text.split("\n\n").filter((event) => event !== "")
  return events.map((event) => {
    assert.isTrue(event.startsWith("data: "), `an SSE data event: ${event}`)
    const data = event.slice("data: ".length)
    return data === "[DONE]" ? "[DONE]" : (JSON.parse(data) as Json)
  })
}

const isNanoseconds = (value: unknown) => Number.isInteger(value) && (value as number) > 0

const user = (content: string) => [{ role: "user", content }]

const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

const Person = Schema.Struct({
  name: Schema.String,
  age: Schema.Int,
  tags: Schema.Array(Schema.String),
  active: Schema.Boolean,
  kind: Schema.Literal("a", "b")
})

describe("Ollama API", () => {
  it("lists the models with details in /api/tags; /api/version and /api/ps answer", async () => {
    const tags = (await (await fetch(`${llm.url}/api/tags`)).json()) as Json
    assert.deepStrictEqual(tags.models.map((m: Json) => m.name), llm.models)
    for (const model of tags.models) {
      assert.strictEqual(model.model, model.name)
      assert.isTrue(model.size > 100_000 && model.size < 1_000_000, `size ${model.size}`)
      assert.match(model.digest, /^[0-9a-f]{64}$/)
      assert.isFalse(Number.isNaN(Date.parse(model.modified_at)))
      assert.strictEqual(model.details.format, "gguf")
      assert.strictEqual(model.details.family, "llama")
      assert.strictEqual(model.details.quantization_level, "F32")
      assert.match(model.details.parameter_size, /M$/)
    }
    const version = (await (await fetch(`${llm.url}/api/version`)).json()) as Json
    assert.match(version.version, /^\d+\.\d+\.\d+/)
    const ps = (await (await fetch(`${llm.url}/api/ps`)).json()) as Json
    assert.strictEqual(ps.models.length, llm.models.length)
    assert.strictEqual(ps.models[0].size_vram, 0)
  })

  it("shows a model's ChatML template, model_info and capabilities", async () => {
    const chat = await postJson("/api/show", { model: "tiny-chat" })
    assert.include(chat.template, "<|im_start|>")
    assert.strictEqual(chat.model_info["general.architecture"], "llama")
    assert.strictEqual(chat.model_info["llama.embedding_length"], 64)
    assert.deepStrictEqual(chat.capabilities, ["completion", "tools", "vision"])
    const embed = await postJson("/api/show", { model: "tiny-embed" })
    assert.deepStrictEqual(embed.capabilities, ["embedding"])
  })

  it("streams /api/chat as NDJSON chunks in order, ending with done_reason, durations and token counts", async () => {
    const body = { model: "tiny-chat", messages: user("hi"), options: { num_predict: 12, seed: 7, ignore_eos: true } }
    const response = await post("/api/chat", body)
    assert.strictEqual(response.status, 200)
    assert.strictEqual(response.headers.get("content-type"), "application/x-ndjson")
    const lines = await ndjson(response)
    const last = lines.at(-1)!
    const chunks = lines.slice(0, -1)
    assert.isTrue(chunks.length >= 6, `${chunks.length} chunks`)
    for (const chunk of chunks) {
      assert.strictEqual(chunk.model, "tiny-chat")
      assert.strictEqual(chunk.done, false)
      assert.strictEqual(chunk.message.role, "assistant")
      assert.isString(chunk.message.content)
    }
    const times = lines.map((line) => Date.parse(line.created_at))
    assert.deepStrictEqual(times, [...times].sort((a, b) => a - b))
    assert.strictEqual(last.done, true)
    assert.strictEqual(last.done_reason, "length")
    assert.strictEqual(last.message.content, "")
    assert.strictEqual(last.eval_count, 12)
    assert.isTrue(last.prompt_eval_count > 3)
    for (const key of ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"]) {
      assert.isTrue(isNanoseconds(last[key]), `${key} = ${last[key]}`)
    }
    assert.isTrue(last.total_duration >= last.eval_duration + last.prompt_eval_duration)

    const whole = await postJson("/api/chat", { ...body, stream: false })
    assert.strictEqual(whole.message.content, chunks.map((c) => c.message.content).join(""))
    assert.strictEqual(whole.eval_count, 12)
  })

  it("flushes each chunk as its token is generated (the first arrives long before the last)", async () => {
    const started = performance.now()
    const response = await post("/api/generate", {
      model: "tiny-code",
      prompt: "count",
      options: { num_predict: 400, ignore_eos: true, seed: 1 }
    })
    const reader = response.body!.getReader()
    await reader.read()
    const first = performance.now() - started
    while (!(await reader.read()).done) { /* drain */ }
    const total = performance.now() - started
    assert.isTrue(first < total / 2, `first chunk after ${first.toFixed(0)} ms, all after ${total.toFixed(0)} ms`)
  })

  it("is deterministic under a seed: same seed and prompt give the same text, even from another process", async () => {
    const request = (seed: number) => ({
      model: "tiny-chat",
      prompt: "Tell me a story",
      stream: false,
      options: { temperature: 0.9, seed, num_predict: 24, ignore_eos: true }
    })
    const a = await postJson("/api/generate", request(42))
    const b = await postJson("/api/generate", request(42))
    const c = await postJson("/api/generate", request(43))
    assert.strictEqual(a.response, b.response)
    assert.notStrictEqual(a.response, c.response)
    assert.strictEqual(a.done_reason, "length")
    const other = await startLlmServer({ models: ["tiny-chat"] })
    try {
      const response = await fetch(`${other.url}/api/generate`, {
        method: "POST",
        body: JSON.stringify(request(42))
      })
      assert.strictEqual(((await response.json()) as Json).response, a.response)
    } finally {
      await other.stop()
    }
  })

  it("stops at a stop sequence (excluded from the text) with done_reason stop", async () => {
    const base = { model: "tiny-chat", prompt: "go", stream: false }
    const options = { temperature: 0, num_predict: 30, ignore_eos: true }
    const full = (await postJson("/api/generate", { ...base, options })).response as string
    const stop = full.slice(12, 16)
    const cut = await postJson("/api/generate", { ...base, options: { ...options, stop: [stop] } })
    assert.strictEqual(cut.done_reason, "stop")
    assert.strictEqual(cut.response, full.slice(0, full.indexOf(stop)))
  })

  it("constrains output to a JSON schema (format) and to any JSON object (format: json)", async () => {
    const schema = JSONSchema.make(Person)
    const request = { model: "tiny-chat", messages: user("who?"), format: schema, stream: false }
    const chat = await postJson("/api/chat", request)
    const person = Schema.decodeUnknownSync(Person)(JSON.parse(chat.message.content))
    assert.isTrue(Number.isInteger(person.age))
    assert.strictEqual(chat.done_reason, "stop")
    const json = { model: "tiny-code", prompt: "x", format: "json", stream: false }
    const generated = await postJson("/api/generate", json)
    const value = JSON.parse(generated.response)
    assert.isTrue(typeof value === "object" && value !== null && !Array.isArray(value))
  })

  it("answers with message.tool_calls (arguments an object), then in text after a tool result", async () => {
    const tools = [{
      type: "function",
      function: {
        name: "get_weather",
        description: "Weather for a city",
        parameters: {
          type: "object",
          properties: { city: { type: "string" }, days: { type: "integer" } },
          required: ["city"]
        }
      }
    }]
    const messages = user("Weather in Paris?")
    const options = { seed: 9 }
    const first = await postJson("/api/chat", { model: "tiny-chat", messages, tools, options, stream: false })
    assert.strictEqual(first.message.content, "")
    assert.strictEqual(first.message.tool_calls.length, 1)
    const call = first.message.tool_calls[0]
    assert.strictEqual(call.function.name, "get_weather")
    assert.isString(call.function.arguments.city)
    const streamed = await ndjson(await post("/api/chat", { model: "tiny-chat", messages, tools, options }))
    const streamedCall = streamed.find((line) => line.message.tool_calls)
    assert.deepStrictEqual(streamedCall?.message.tool_calls, first.message.tool_calls)
    const answer = await postJson("/api/chat", {
      model: "tiny-chat",
      tools,
      stream: false,
      options: { num_predict: 8 },
      messages: [...messages, first.message, { role: "tool", content: "{\"temp\": 21}", tool_name: "get_weather" }]
    })
    assert.isUndefined(answer.message.tool_calls)
    assert.isString(answer.message.content)
  })

  it("embeds a text or a list (/api/embed, normalized, deterministic) and a prompt (/api/embeddings)", async () => {
    const one = await postJson("/api/embed", { model: "tiny-embed", input: "hello world" })
    assert.strictEqual(one.model, "tiny-embed")
    assert.strictEqual(one.embeddings.length, 1)
    assert.strictEqual(one.embeddings[0].length, 64)
    const norm = Math.hypot(...one.embeddings[0])
    assert.closeTo(norm, 1, 1e-6)
    assert.isTrue(one.prompt_eval_count > 0 && isNanoseconds(one.total_duration))
    const many = await postJson("/api/embed", { model: "tiny-embed", input: ["hello world", "something else"] })
    assert.strictEqual(many.embeddings.length, 2)
    assert.deepStrictEqual(many.embeddings[0], one.embeddings[0])
    assert.notDeepEqual(many.embeddings[1], one.embeddings[0])
    const legacy = await postJson("/api/embeddings", { model: "tiny-embed", prompt: "hello world" })
    assert.deepStrictEqual(legacy.embedding, one.embeddings[0])
  })

  it("accepts base64 images (vision) and rejects invalid image data with 400", async () => {
    const ok = await postJson("/api/chat", {
      model: "tiny-chat",
      stream: false,
      messages: [{ role: "user", content: "what is this?", images: [png] }],
      options: { num_predict: 4 }
    })
    assert.strictEqual(ok.done, true)
    const generated = await postJson("/api/generate", {
      model: "tiny-chat",
      prompt: "describe",
      images: [png],
      stream: false,
      options: { num_predict: 4 }
    })
    assert.strictEqual(generated.done, true)
    const bad = await post("/api/generate", { model: "tiny-chat", prompt: "x", images: ["%%%not base64"] })
    assert.strictEqual(bad.status, 400)
    assert.isString(((await bad.json()) as Json).error)
  })

  it("answers errors as {error}: 404 unknown model, 400 bad request or chat on an embedding model", async () => {
    const missing = await post("/api/chat", { model: "nope", messages: user("hi") })
    assert.strictEqual(missing.status, 404)
    assert.deepStrictEqual(await missing.json(), { error: "model \"nope\" not found, try pulling it first" })
    const invalid = await fetch(`${llm.url}/api/chat`, { method: "POST", body: "{not json" })
    assert.strictEqual(invalid.status, 400)
    assert.isString(((await invalid.json()) as Json).error)
    const noModel = await post("/api/generate", { prompt: "x" })
    assert.strictEqual(noModel.status, 400)
    const embedder = await post("/api/chat", { model: "tiny-embed", messages: user("hi") })
    assert.strictEqual(embedder.status, 400)
    assert.include(((await embedder.json()) as Json).error, "does not support chat")
  })

  it("fail-midstream keeps HTTP 200, streams a few chunks, then an {error} line and no done line", async () => {
    const response = await post("/api/chat", { model: "fail-midstream", messages: user("hi") })
    assert.strictEqual(response.status, 200)
    const lines = await ndjson(response)
    assert.strictEqual(lines.length, 4)
    assert.isTrue(lines.slice(0, 3).every((line) => line.done === false && typeof line.message.content === "string"))
    assert.isString(lines[3]!.error)
    assert.isUndefined(lines.find((line) => line.done === true))
    const whole = await post("/api/chat", { model: "fail-midstream", messages: user("hi"), stream: false })
    assert.strictEqual(whole.status, 500)
  })

  it("injects faults: 429 + retry-after, 503 counted down, mid-stream error, delay, dropped connection", async () => {
    await llm.fault({ path: "/api/chat", status: 429, retryAfter: 2 })
    const limited = await post("/api/chat", { model: "tiny-chat", messages: user("hi") })
    assert.strictEqual(limited.status, 429)
    assert.strictEqual(limited.headers.get("retry-after"), "2")
    assert.isString(((await limited.json()) as Json).error)

    await llm.fault({ path: "/api/tags", status: 503, count: 2 })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${llm.url}/api/tags`)).status)
    assert.deepStrictEqual(statuses, [503, 503, 200])

    await llm.fault({ model: "tiny-code", afterChunks: 2, error: "boom" })
    const lines = await ndjson(await post("/api/generate", { model: "tiny-code", prompt: "x" }))
    assert.deepStrictEqual(lines.at(-1), { error: "boom" })
    assert.strictEqual(lines.length, 3)

    await llm.fault({ path: "/api/version", delayMs: 300 })
    const started = performance.now()
    assert.strictEqual((await fetch(`${llm.url}/api/version`)).status, 200)
    assert.isTrue(performance.now() - started >= 290)

    await llm.fault({ path: "/api/tags", drop: true })
    const dropped = await fetch(`${llm.url}/api/tags`).then(() => "answered", (error: Error) => error.message)
    assert.strictEqual(dropped, "fetch failed")
  })

  it("sees a client abort (streaming or not): the socket closes, generation stops early and is counted", async () => {
    await llm.reset()
    const controller = new AbortController()
    const response = await post("/api/generate", {
      model: "tiny-chat",
      prompt: "go on forever",
      options: { num_predict: 4000, ignore_eos: true }
    }, { signal: controller.signal })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    const stats = await llm.waitFor((s) => s.aborted === 1 && s.inFlight === 0)
    assert.strictEqual(stats.activeGenerations, 0)
    assert.strictEqual(stats.aborts[0]!.endpoint, "POST /api/generate")
    assert.strictEqual(stats.aborts[0]!.model, "tiny-chat:latest")
    assert.isTrue(stats.aborts[0]!.completionTokens < 4000, `${stats.aborts[0]!.completionTokens} tokens`)
    assert.strictEqual(stats.requests["POST /api/generate"], 1)

    const waiting = new AbortController()
    const pending = post("/v1/chat/completions", {
      model: "tiny-code",
      messages: user("go on forever"),
      max_tokens: 4000,
      ignore_eos: true
    }, { signal: waiting.signal }).catch((error: Error) => error.name)
    await llm.waitFor((s) => s.activeGenerations === 1)
    waiting.abort()
    assert.strictEqual(await pending, "AbortError")
    const after = await llm.waitFor((s) => s.aborted === 2 && s.inFlight === 0)
    assert.deepInclude(after.aborts[1], { endpoint: "POST /v1/chat/completions", streaming: false })
    assert.isTrue(after.aborts[1]!.completionTokens < 4000)
  })
})

describe("OpenAI-compatible API", () => {
  it("lists models at /v1/models and /v1/models/{id}", async () => {
    const list = (await (await fetch(`${llm.url}/v1/models`)).json()) as Json
    assert.strictEqual(list.object, "list")
    assert.deepStrictEqual(list.data.map((m: Json) => m.id), llm.models)
    assert.strictEqual(list.data[0].object, "model")
    const one = (await (await fetch(`${llm.url}/v1/models/tiny-chat:latest`)).json()) as Json
    assert.strictEqual(one.id, "tiny-chat:latest")
  })

  it("answers /v1/chat/completions with a chat.completion and usage", async () => {
    const completion = await postJson("/v1/chat/completions", {
      model: "tiny-chat",
      messages: [{ role: "system", content: "be brief" }, ...user("hi")],
      max_tokens: 10,
      seed: 3,
      ignore_eos: true
    })
    assert.strictEqual(completion.object, "chat.completion")
    assert.match(completion.id, /^chatcmpl-/)
    assert.isTrue(Number.isInteger(completion.created))
    assert.strictEqual(completion.model, "tiny-chat")
    const [choice] = completion.choices
    assert.strictEqual(choice.index, 0)
    assert.strictEqual(choice.message.role, "assistant")
    assert.isString(choice.message.content)
    assert.strictEqual(choice.finish_reason, "length")
    assert.strictEqual(completion.usage.completion_tokens, 10)
    assert.strictEqual(completion.usage.total_tokens, completion.usage.prompt_tokens + 10)
  })

  it("streams SSE chunks: role first, content deltas, finish_reason, a usage chunk, then [DONE]", async () => {
    const body = { model: "tiny-chat", messages: user("hi"), max_tokens: 10, seed: 5, ignore_eos: true }
    const response = await post("/v1/chat/completions", {
      ...body,
      stream: true,
      stream_options: { include_usage: true }
    })
    assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
    const events = await sse(response)
    assert.strictEqual(events.at(-1), "[DONE]")
    const chunks = events.slice(0, -1) as Array<Json>
    assert.isTrue(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0]!.id))
    assert.strictEqual(chunks[0]!.choices[0].delta.role, "assistant")
    const usage = chunks.at(-1)!
    assert.deepStrictEqual(usage.choices, [])
    assert.strictEqual(usage.usage.completion_tokens, 10)
    const finish = chunks.at(-2)!
    assert.strictEqual(finish.choices[0].finish_reason, "length")
    const content = chunks.slice(1, -2).map((c) => c.choices[0].delta.content as string)
    assert.isTrue(content.length >= 5)
    const whole = await postJson("/v1/chat/completions", body)
    assert.strictEqual(whole.choices[0].message.content, content.join(""))
  })

  it("honours response_format json_schema and json_object", async () => {
    const schema = JSONSchema.make(Person)
    const structured = await postJson("/v1/chat/completions", {
      model: "tiny-code",
      messages: user("who?"),
      response_format: { type: "json_schema", json_schema: { name: "person", schema, strict: true } }
    })
    Schema.decodeUnknownSync(Person)(JSON.parse(structured.choices[0].message.content))
    const object = await postJson("/v1/chat/completions", {
      model: "tiny-code",
      messages: user("json please"),
      response_format: { type: "json_object" }
    })
    assert.isObject(JSON.parse(object.choices[0].message.content))
  })

  it("returns tool_calls with JSON-string arguments and finish_reason tool_calls, also when streaming", async () => {
    const tools = [{
      type: "function",
      function: {
        name: "add",
        parameters: { type: "object", properties: { a: { type: "number" }, b: { type: "number" } } }
      }
    }]
    const request = { model: "tiny-chat", messages: user("1+2"), tools, seed: 11 }
    const completion = await postJson("/v1/chat/completions", request)
    const choice = completion.choices[0]
    assert.strictEqual(choice.finish_reason, "tool_calls")
    assert.isNull(choice.message.content)
    const call = choice.message.tool_calls[0]
    assert.match(call.id, /^call-/)
    assert.strictEqual(call.type, "function")
    assert.strictEqual(call.function.name, "add")
    const args = JSON.parse(call.function.arguments)
    assert.isNumber(args.a)
    const events = await sse(await post("/v1/chat/completions", { ...request, stream: true }))
    const chunks = events.filter((e): e is Json => e !== "[DONE]")
    const delta = chunks.find((c) => c.choices[0]?.delta.tool_calls)!.choices[0].delta
    assert.strictEqual(delta.tool_calls[0].index, 0)
    assert.strictEqual(delta.tool_calls[0].function.arguments, call.function.arguments)
    assert.strictEqual(chunks.at(-1)!.choices[0].finish_reason, "tool_calls")
    const none = await postJson("/v1/chat/completions", {
      model: "tiny-chat",
      messages: user("1+2"),
      tools,
      tool_choice: "none",
      max_tokens: 4
    })
    assert.isString(none.choices[0].message.content)
  })

  it("accepts image_url content parts (vision)", async () => {
    const completion = await postJson("/v1/chat/completions", {
      model: "tiny-chat",
      max_tokens: 4,
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } }
        ]
      }]
    })
    assert.strictEqual(completion.object, "chat.completion")
  })

  it("answers /v1/embeddings as floats or base64 little-endian float32, the same vectors", async () => {
    const input = ["alpha", "beta"]
    const floats = await postJson("/v1/embeddings", { model: "tiny-embed", input })
    assert.strictEqual(floats.object, "list")
    assert.deepStrictEqual(floats.data.map((d: Json) => d.index), [0, 1])
    assert.strictEqual(floats.data[0].embedding.length, 64)
    assert.isTrue(floats.usage.prompt_tokens > 0)
    const encoded = await postJson("/v1/embeddings", { model: "tiny-embed", input, encoding_format: "base64" })
    const bytes = Buffer.from(encoded.data[1].embedding, "base64")
    const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4))
    assert.strictEqual(decoded.length, 64)
    decoded.forEach((value, i) => assert.closeTo(value, floats.data[1].embedding[i], 1e-6))
    const native = await postJson("/api/embed", { model: "tiny-embed", input: "alpha" })
    assert.deepStrictEqual(floats.data[0].embedding, native.embeddings[0])
  })

  it("answers legacy /v1/completions", async () => {
    const request = { model: "tiny-code", prompt: "def f(", max_tokens: 5, ignore_eos: true }
    const completion = await postJson("/v1/completions", request)
    assert.strictEqual(completion.object, "text_completion")
    assert.isString(completion.choices[0].text)
    assert.strictEqual(completion.usage.completion_tokens, 5)
  })

  it("answers errors with {error: {message, type, code}}: 404 unknown model, 400 bad request", async () => {
    const missing = await post("/v1/chat/completions", { model: "nope", messages: user("hi") })
    assert.strictEqual(missing.status, 404)
    const body = (await missing.json()) as Json
    assert.strictEqual(body.error.message, "model \"nope\" not found, try pulling it first")
    assert.strictEqual(body.error.code, "model_not_found")
    const bad = await post("/v1/chat/completions", { model: "tiny-chat", messages: "hi" })
    assert.strictEqual(bad.status, 400)
    assert.strictEqual(((await bad.json()) as Json).error.type, "invalid_request_error")
    await llm.fault({ path: "/v1/chat/completions", status: 429, retryAfter: 1 })
    const limited = await post("/v1/chat/completions", { model: "tiny-chat", messages: user("hi") })
    assert.strictEqual(limited.status, 429)
    assert.strictEqual(limited.headers.get("retry-after"), "1")
    assert.strictEqual(((await limited.json()) as Json).error.code, "rate_limit_exceeded")
  })

  it("fail-midstream sends an SSE error event after a few chunks and no [DONE]", async () => {
    const response = await post("/v1/chat/completions", { model: "fail-midstream", messages: user("hi"), stream: true })
    assert.strictEqual(response.status, 200)
    const events = await sse(response)
    assert.notInclude(events, "[DONE]")
    assert.isString((events.at(-1) as Json).error.message)
  })
})
