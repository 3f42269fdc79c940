/**
 * The Ollama API of the LLM test server: `/api/tags`, `/api/version`, `/api/ps`, `/api/show`, `/api/generate`,
 * `/api/chat`, `/api/embed`, `/api/embeddings`. Streams are NDJSON; durations are integer nanoseconds.
 */
import * as Chat from "./chat.js"
import { contextLength, type Generation, type Model, type Prompt, type ToolCall } from "./engine.js"
import { type Exchange, field, HttpError, isJson, type Json } from "./http.js"
import * as Schema from "./schema.js"

/** The version `/api/version` reports. */
export const version = "0.9.6"

/** The `details` object of a model in `/api/tags`, `/api/ps` and `/api/show`. */
const details = (model: Model) => ({
  parent_model: "",
  format: "gguf",
  family: "llama",
  families: ["llama"],
  parameter_size: `${(model.file.parameterCount / 1e6).toFixed(2)}M`,
  quantization_level: "F32"
})

const summary = (model: Model) => ({
  name: model.name,
  model: model.name,
  modified_at: model.modifiedAt,
  size: model.file.bytes.length,
  digest: model.file.digest,
  details: details(model)
})

const capabilities = (model: Model) => (model.kind === "embedding" ? ["embedding"] : ["completion", "tools", "vision"])

const supports = (model: Model, what: "chat" | "generate") => {
  if (model.kind === "embedding") throw new HttpError(400, `"${model.name}" does not support ${what}`)
}

const options = (body: Json, structured: boolean) => {
  const o = field(body, "options", "object") ?? {}
  const predict = Chat.numberOption(o, "num_predict")
  const fallback = structured ? Chat.structuredMaxTokens : Chat.defaultMaxTokens
  return {
    maxTokens: predict === undefined || predict < 0 ? fallback : Math.floor(predict),
    temperature: Chat.numberOption(o, "temperature") ?? 0.8,
    seed: Chat.numberOption(o, "seed"),
    topK: Chat.numberOption(o, "top_k"),
    topP: Chat.numberOption(o, "top_p"),
    minP: Chat.numberOption(o, "min_p"),
    stop: Chat.stopList(o["stop"], "stop"),
    contextLength: Chat.numberOption(o, "num_ctx"),
    ignoreEos: o["ignore_eos"] === true
  }
}

/** `format`: "json", a JSON schema, or nothing. */
const format = (value: unknown) => {
  if (value === undefined || value === null || value === "") return undefined
  if (value === "json") return Schema.anyObject
  if (isJson(value)) return Chat.grammar(() => Schema.normalize(value))
  throw new HttpError(400, "invalid value for \"format\": expected \"json\" or a JSON schema")
}

const timings = (g: Generation) => ({
  total_duration: g.totalNs,
  load_duration: g.loadNs,
  prompt_eval_count: g.promptTokens,
  prompt_eval_duration: g.promptNs,
  eval_count: g.completionTokens,
  eval_duration: g.evalNs
})

const doneReason = (g: Generation) => (g.finish === "length" ? "length" : "stop")
const now = () => new Date().toISOString()

const messages = (value: unknown) => {
  if (!Array.isArray(value)) throw new HttpError(400, "invalid value for \"messages\": expected array")
  return value.map((message) => {
    if (!isJson(message) || typeof message["role"] !== "string") {
      throw new HttpError(400, "each message needs a role and a content")
    }
    const content = field(message, "content", "string") ?? ""
    Chat.checkImages(message["images"])
    const calls = (field(message, "tool_calls", "array") ?? []).flatMap((call): Array<ToolCall> => {
      const fn = isJson(call) ? call["function"] : undefined
      if (!isJson(fn) || typeof fn["name"] !== "string") return []
      return [{ name: fn["name"], arguments: isJson(fn["arguments"]) ? fn["arguments"] : {} }]
    })
    return { role: message["role"], content, ...(calls.length > 0 ? { toolCalls: calls } : {}) }
  })
}

const chat = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  supports(model, "chat")
  const history = messages(body["messages"] ?? [])
  const offered = Chat.tools(body["tools"])
  const toolGrammar = Chat.forcedToolCall(offered, history, undefined)
  const schema = toolGrammar ?? format(body["format"])
  const o = options(body, schema !== undefined)
  const stream = field(body, "stream", "boolean") ?? true
  const name = body["model"] as string
  const prompt: Prompt = { kind: "chat", messages: history, tools: offered }
  const generateOptions = { ...o, grammar: schema }
  if (stream) x.startStream()
  const onChunk = (content: string) => {
    if (stream && toolGrammar === undefined) {
      x.event({ model: name, created_at: now(), message: { role: "assistant", content }, done: false })
    }
  }
  const g = await x.generate(model, prompt, generateOptions, onChunk)
  if (x.ended) return
  const call = toolGrammar === undefined ? undefined : Chat.parseToolCall(g.text)
  const toolCalls = call === undefined ? undefined : [{ function: { name: call.name, arguments: call.arguments } }]
  const content = call === undefined && (toolGrammar !== undefined || !stream) ? g.text : ""
  const done = { done: true, done_reason: doneReason(g), ...timings(g) }
  if (!stream) {
    const message = { role: "assistant", content, ...(toolCalls ? { tool_calls: toolCalls } : {}) }
    return x.json(200, { model: name, created_at: now(), message, ...done })
  }
  if (toolCalls !== undefined || content !== "") {
    const message = { role: "assistant", content, ...(toolCalls ? { tool_calls: toolCalls } : {}) }
    x.event({ model: name, created_at: now(), message, done: false })
  }
  x.event({ model: name, created_at: now(), message: { role: "assistant", content: "" }, ...done })
  x.endStream()
}

const generate = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  supports(model, "generate")
  const text = field(body, "prompt", "string") ?? ""
  const system = field(body, "system", "string")
  const images = Chat.checkImages(body["images"])
  const stream = field(body, "stream", "boolean") ?? true
  const name = body["model"] as string
  if (text === "" && images === 0) {
    // Ollama answers an empty prompt by loading the model.
    return x.json(200, { model: name, created_at: now(), response: "", done: true, done_reason: "load" })
  }
  const schema = format(body["format"])
  const o = options(body, schema !== undefined)
  const instructions = system === undefined ? [] : [{ role: "system", content: system }]
  const messages = [...instructions, { role: "user", content: text }]
  const prompt: Prompt = field(body, "raw", "boolean") === true
    ? { kind: "raw", text }
    : { kind: "chat", messages, tools: [] }
  if (stream) x.startStream()
  const g = await x.generate(model, prompt, { ...o, grammar: schema }, (response) => {
    if (stream) x.event({ model: name, created_at: now(), response, done: false })
  })
  if (x.ended) return
  const done = { done: true, done_reason: doneReason(g), ...timings(g) }
  if (!stream) return x.json(200, { model: name, created_at: now(), response: g.text, ...done })
  x.event({ model: name, created_at: now(), response: "", ...done })
  x.endStream()
}

const inputs = (value: unknown, key: string): ReadonlyArray<string> => {
  if (value === undefined || value === null) return []
  if (typeof value === "string") return [value]
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) return value
  throw new HttpError(400, `invalid value for "${key}": expected a string or a list of strings`)
}

const embed = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  const texts = inputs(body["input"], "input")
  const dimensions = field(body, "dimensions", "number")
  const result = await x.hooks.generation(async () => {
    const e = await model.embed(texts)
    return { ...e, completionTokens: 0 }
  })
  const vectors = result.vectors.map((v) => truncate(v, dimensions))
  x.json(200, {
    model: body["model"],
    embeddings: vectors,
    total_duration: result.totalNs,
    load_duration: 0,
    prompt_eval_count: result.promptTokens
  })
}

/** Keeps the first `dimensions` values of a normalized vector and normalizes again. */
export const truncate = (vector: ReadonlyArray<number>, dimensions: number | undefined) => {
  if (dimensions === undefined || dimensions <= 0 || dimensions >= vector.length) return vector
  const head = vector.slice(0, Math.floor(dimensions))
  const norm = Math.sqrt(head.reduce((sum, v) => sum + v * v, 0)) || 1
  return head.map((v) => v / norm)
}

const embeddings = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  const prompt = field(body, "prompt", "string") ?? ""
  const result = await model.embed([prompt])
  x.json(200, { embedding: result.vectors[0] })
}

const show = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"] ?? body["name"])
  x.json(200, {
    license: "",
    modelfile: `# Random-weight test model\nFROM ${model.name}\n`,
    parameters: "",
    template: model.file.chatTemplate,
    details: details(model),
    model_info: {
      "general.architecture": "llama",
      "general.parameter_count": model.file.parameterCount,
      "llama.context_length": model.file.contextLength,
      "llama.embedding_length": model.file.embeddingLength,
      "tokenizer.ggml.model": "llama"
    },
    capabilities: capabilities(model),
    modified_at: model.modifiedAt
  })
}

const expires = () => new Date(Date.now() + 5 * 60_000).toISOString()

/** Ollama endpoints by `"METHOD /path"`. */
export const routes: Readonly<Record<string, (x: Exchange) => Promise<void>>> = {
  "GET /": async (x) => {
    x.res.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
    x.res.end("Ollama is running")
  },
  "HEAD /": async (x) => {
    x.res.writeHead(200)
    x.res.end()
  },
  "GET /api/version": async (x) => x.json(200, { version }),
  "GET /api/tags": async (x) => x.json(200, { models: [...x.engine.models.values()].map(summary) }),
  "GET /api/ps": async (x) =>
    x.json(200, {
      models: [...x.engine.models.values()].map((m) => ({
        ...summary(m),
        expires_at: expires(),
        size_vram: 0,
        context_length: contextLength
      }))
    }),
  "POST /api/show": show,
  "POST /api/generate": generate,
  "POST /api/chat": chat,
  "POST /api/embed": embed,
  "POST /api/embeddings": embeddings
}
