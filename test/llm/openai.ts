/**
 * The OpenAI-compatible API of the LLM test server, under `/v1`: chat completions (SSE streaming with
 * `stream_options.include_usage` and `data: [DONE]`, `response_format`, tools), legacy completions, models and
 * embeddings (`encoding_format: "base64"` is little-endian float32).
 */
import * as Chat from "./chat.js"
import type { ChatMessage, Generation, Model, ToolCall } from "./engine.js"
import { type Exchange, field, HttpError, isJson, type Json } from "./http.js"
import { truncate } from "./ollama.js"
import * as Schema from "./schema.js"

let counter = 0
const id = (prefix: string) => `${prefix}-${process.pid}${(++counter).toString(36).padStart(6, "0")}`
const created = () => Math.floor(Date.now() / 1000)

const usage = (g: Generation) => ({
  prompt_tokens: g.promptTokens,
  completion_tokens: g.completionTokens,
  total_tokens: g.promptTokens + g.completionTokens
})

const sampling = (body: Json, structured: boolean) => {
  const limit = field(body, "max_completion_tokens", "number") ?? field(body, "max_tokens", "number")
  const n = field(body, "n", "number")
  if (n !== undefined && n !== 1) throw new HttpError(400, "only n = 1 is supported")
  return {
    maxTokens: limit ?? (structured ? Chat.structuredMaxTokens : Chat.defaultMaxTokens),
    temperature: field(body, "temperature", "number") ?? 1,
    seed: field(body, "seed", "number"),
    topK: undefined,
    topP: field(body, "top_p", "number"),
    minP: undefined,
    stop: Chat.stopList(body["stop"], "stop"),
    contextLength: undefined,
    ignoreEos: body["ignore_eos"] === true
  }
}

/** Text of a message content: a string, or parts of which the text ones count (images are checked, ignored). */
const text = (content: unknown): string => {
  if (content === undefined || content === null) return ""
  if (typeof content === "string") return content
  if (!Array.isArray(content)) throw new HttpError(400, "invalid message content")
  return content.map((part) => {
    if (!isJson(part)) throw new HttpError(400, "invalid content part")
    if (part["type"] === "text" && typeof part["text"] === "string") return part["text"]
    if (part["type"] === "image_url") {
      const image = part["image_url"]
      const url = isJson(image) ? image["url"] : image
      if (typeof url !== "string") throw new HttpError(400, "invalid image_url")
      const match = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(url)
      if (match) Chat.checkImages([match[1]])
      return ""
    }
    throw new HttpError(400, `unsupported content part type: ${String(part["type"])}`)
  }).join("")
}

const messages = (value: unknown): ReadonlyArray<ChatMessage> => {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "invalid value for \"messages\": expected a non-empty array")
  }
  return value.map((message) => {
    if (!isJson(message) || typeof message["role"] !== "string") throw new HttpError(400, "each message needs a role")
    const role = message["role"] === "developer" ? "system" : message["role"]
    const calls = (field(message, "tool_calls", "array") ?? []).flatMap((call): Array<ToolCall> => {
      const fn = isJson(call) ? call["function"] : undefined
      if (!isJson(fn) || typeof fn["name"] !== "string") return []
      let args: unknown = {}
      try {
        args = typeof fn["arguments"] === "string" ? JSON.parse(fn["arguments"]) : fn["arguments"]
      } catch {
        throw new HttpError(400, "tool call arguments must be a JSON string")
      }
      return [{ name: fn["name"], arguments: isJson(args) ? args : {} }]
    })
    return { role, content: text(message["content"]), ...(calls.length > 0 ? { toolCalls: calls } : {}) }
  })
}

const responseFormat = (value: unknown) => {
  if (value === undefined || value === null) return undefined
  if (!isJson(value)) throw new HttpError(400, "invalid value for \"response_format\"")
  if (value["type"] === "text") return undefined
  if (value["type"] === "json_object") return Schema.anyObject
  if (value["type"] === "json_schema" && isJson(value["json_schema"])) {
    const schema = value["json_schema"]["schema"]
    return Chat.grammar(() => Schema.normalize(schema ?? {}))
  }
  throw new HttpError(400, "response_format.type must be text, json_object or json_schema")
}

const chatCompletions = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  if (model.kind === "embedding") throw new HttpError(400, `"${model.name}" does not support chat`)
  const history = messages(body["messages"])
  const offered = Chat.tools(body["tools"])
  const toolGrammar = Chat.forcedToolCall(offered, history, body["tool_choice"])
  const schema = toolGrammar ?? responseFormat(body["response_format"])
  const stream = field(body, "stream", "boolean") ?? false
  const includeUsage = isJson(body["stream_options"]) && body["stream_options"]["include_usage"] === true
  const name = body["model"] as string
  const base = { id: id("chatcmpl"), created: created(), model: name, system_fingerprint: "fp_gleitzeit_test" }
  const chunk = (delta: Json, finish: string | null) => ({
    ...base,
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {})
  })
  if (stream) {
    x.startStream()
    x.event(chunk({ role: "assistant", content: "" }, null))
  }
  const options = { ...sampling(body, schema !== undefined), grammar: schema }
  const prompt = { kind: "chat", messages: history, tools: offered } as const
  const g = await x.generate(model, prompt, options, (content) => {
    if (stream && toolGrammar === undefined) x.event(chunk({ content }, null))
  })
  if (x.ended) return
  const call = toolGrammar === undefined ? undefined : Chat.parseToolCall(g.text)
  const toolCalls = call === undefined ? undefined : [
    { id: id("call"), type: "function", function: { name: call.name, arguments: JSON.stringify(call.arguments) } }
  ]
  const finish = toolCalls !== undefined ? "tool_calls" : g.finish === "length" ? "length" : "stop"
  if (!stream) {
    const message = toolCalls !== undefined
      ? { role: "assistant", content: null, tool_calls: toolCalls }
      : { role: "assistant", content: g.text }
    return x.json(200, {
      ...base,
      object: "chat.completion",
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: usage(g)
    })
  }
  if (toolCalls !== undefined) x.event(chunk({ tool_calls: toolCalls.map((c, index) => ({ index, ...c })) }, null))
  else if (toolGrammar !== undefined) x.event(chunk({ content: g.text }, null))
  x.event(chunk({}, finish))
  if (includeUsage) x.event({ ...base, object: "chat.completion.chunk", choices: [], usage: usage(g) })
  x.endStream()
}

const completions = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  if (model.kind === "embedding") throw new HttpError(400, `"${model.name}" does not support generate`)
  const raw = body["prompt"]
  const prompt = Array.isArray(raw) && raw.length === 1 ? raw[0] : raw
  if (typeof prompt !== "string") throw new HttpError(400, "invalid value for \"prompt\": expected a string")
  const stream = field(body, "stream", "boolean") ?? false
  const includeUsage = isJson(body["stream_options"]) && body["stream_options"]["include_usage"] === true
  const base = { id: id("cmpl"), object: "text_completion", created: created(), model: body["model"] }
  const choice = (text: string, finish: string | null) => ({
    ...base,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }]
  })
  const options = { ...sampling(body, false), maxTokens: field(body, "max_tokens", "number") ?? 16, grammar: undefined }
  if (stream) x.startStream()
  const g = await x.generate(model, { kind: "raw", text: prompt }, options, (text) => {
    if (stream) x.event(choice(text, null))
  })
  if (x.ended) return
  const finish = g.finish === "length" ? "length" : "stop"
  if (!stream) return x.json(200, { ...choice(g.text, finish), usage: usage(g) })
  x.event(choice("", finish))
  if (includeUsage) x.event({ ...base, choices: [], usage: usage(g) })
  x.endStream()
}

/** Little-endian float32 bytes of a vector, base64-encoded. */
const base64 = (vector: ReadonlyArray<number>) => {
  const bytes = Buffer.alloc(vector.length * 4)
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4))
  return bytes.toString("base64")
}

const embeddings = async (x: Exchange) => {
  const body = await x.body()
  const model = await x.model(body["model"])
  const input = body["input"]
  const texts = typeof input === "string" ? [input] : input
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === "string")) {
    throw new HttpError(400, "invalid value for \"input\": expected a string or a non-empty list of strings")
  }
  const encoding = field(body, "encoding_format", "string") ?? "float"
  if (encoding !== "float" && encoding !== "base64") throw new HttpError(400, "encoding_format must be float or base64")
  const dimensions = field(body, "dimensions", "number")
  const result = await x.hooks.generation(async () => ({ ...(await model.embed(texts)), completionTokens: 0 }))
  x.json(200, {
    object: "list",
    data: result.vectors.map((vector, index) => {
      const v = truncate(vector, dimensions)
      return { object: "embedding", index, embedding: encoding === "base64" ? base64(v) : v }
    }),
    model: body["model"],
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens }
  })
}

const modelObject = (model: Model) => ({
  id: model.name,
  object: "model",
  created: Math.floor(Date.parse(model.modifiedAt) / 1000),
  owned_by: "library"
})

/** OpenAI-compatible endpoints by `"METHOD /path"`. */
export const routes: Readonly<Record<string, (x: Exchange) => Promise<void>>> = {
  "GET /v1/models": async (x) => x.json(200, { object: "list", data: [...x.engine.models.values()].map(modelObject) }),
  "POST /v1/chat/completions": chatCompletions,
  "POST /v1/completions": completions,
  "POST /v1/embeddings": embeddings
}

/** `GET /v1/models/{id}`. */
export const retrieveModel = async (x: Exchange, name: string) => x.json(200, modelObject(await x.model(name)))
