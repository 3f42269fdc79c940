/**
 * An `LlmClient` for OpenAI-compatible servers (OpenAI, vLLM, llama.cpp server, LM Studio): `/chat/completions`
 * (SSE when streaming, with the usage chunk of `stream_options.include_usage`, ending `[DONE]`), `/embeddings`
 * (base64 little-endian float32, as the official client asks for) and `/models`, under a base URL such as
 * `http://host:8000/v1`. The API key is a `Redacted` sent only as the `authorization` header.
 */
import type { LlmProtocol, ProviderError } from "@gleitzeit/core"
import { Json } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "./internal/llm/http.js"
import type { ChatRequest, ChatResponse, LlmClient } from "./LlmClient.js"

/** How to reach an OpenAI-compatible server. */
export interface Options {
  /** Base URL including the version, e.g. `http://127.0.0.1:8000/v1`. */
  readonly url: string
  /** Sent as `authorization: Bearer …`. */
  readonly apiKey?: Redacted.Redacted<string>
  /** Connections kept to it (default 16). */
  readonly connections?: number
}

const WireToolCall = Schema.Struct({
  index: Schema.optional(Schema.Number),
  id: Schema.optional(Schema.String),
  function: Schema.optional(
    Schema.Struct({ name: Schema.optional(Schema.String), arguments: Schema.optional(Schema.String) })
  )
})

const Usage = Schema.Struct({ prompt_tokens: Schema.Number, completion_tokens: Schema.Number })

const Completion = Schema.Struct({
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.Array(WireToolCall))
    }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Usage)
})

/** The message of an OpenAI-style error body `{error: {message}}`. */
const ErrorMessage = Schema.Struct({
  error: Schema.Struct({ message: Schema.String }).pipe(Schema.pluck("message"))
}).pipe(Schema.pluck("error"))

const Chunk = Schema.Struct({
  error: Schema.optional(Schema.Struct({ message: Schema.String })),
  choices: Schema.optionalWith(
    Schema.Array(Schema.Struct({
      delta: Schema.optionalWith(
        Schema.Struct({
          content: Schema.optional(Schema.NullOr(Schema.String)),
          tool_calls: Schema.optional(Schema.Array(WireToolCall))
        }),
        { default: () => ({}) }
      ),
      finish_reason: Schema.optional(Schema.NullOr(Schema.String))
    })),
    { default: () => [] }
  ),
  usage: Schema.optional(Schema.NullOr(Usage))
})

const Models = Schema.Struct({ data: Schema.Array(Schema.Struct({ id: Schema.String })) })

const Embeddings = Schema.Struct({
  data: Schema.Array(
    Schema.Struct({ index: Schema.Number, embedding: Schema.Union(Schema.String, Schema.Array(Schema.Number)) })
  ),
  usage: Schema.optional(Schema.Struct({ prompt_tokens: Schema.Number }))
})

const JsonObject = Schema.Record({ key: Schema.String, value: Json.Json })

/** Decodes a base64 little-endian float32 vector. */
const floats = (base64: string): Array<number> => {
  const bytes = Buffer.from(base64, "base64")
  return Array.from({ length: Math.floor(bytes.length / 4) }, (_, i) => bytes.readFloatLE(i * 4))
}

const wireMessage = (m: LlmProtocol.Message) => ({
  role: m.role,
  content: m.images === undefined || m.images.length === 0
    ? m.content
    : [
      { type: "text", text: m.content },
      ...m.images.map((image) => ({ type: "image_url", image_url: { url: `data:image/png;base64,${image}` } }))
    ],
  ...(m.tool_calls === undefined ? {} : {
    tool_calls: m.tool_calls.map((c, i) => ({
      id: c.id ?? `call_${i}`,
      type: "function",
      function: { name: c.name, arguments: JSON.stringify(c.arguments) }
    }))
  }),
  ...(m.tool_call_id === undefined ? {} : { tool_call_id: m.tool_call_id })
})

const responseFormat = (format: ChatRequest["format"]) =>
  format === undefined
    ? {}
    : format === "json"
    ? { response_format: { type: "json_object" } }
    : { response_format: { type: "json_schema", json_schema: { name: "result", schema: format, strict: true } } }

interface PartialCall {
  id?: string
  name: string
  arguments: string
}

/** Builds a client whose agent lives as long as the scope. */
export const make = (config: Options): Effect.Effect<LlmClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const endpoint: Http.Endpoint = {
      agent: yield* Http.agent(config.connections ?? 16),
      url: config.url.replace(/\/+$/, ""),
      ...(config.apiKey === undefined ? {} : { apiKey: config.apiKey })
    }

    const { readJson, send } = Http.requests(endpoint, ErrorMessage)

    const toolCalls = (method: string, calls: ReadonlyArray<PartialCall>) =>
      Effect.forEach(calls, (call) =>
        Effect.map(
          Http.decodeJson(
            method,
            JsonObject,
            call.arguments === "" ? "{}" : call.arguments,
            `arguments of ${call.name}`
          ),
          (args): LlmProtocol.ToolCall => ({
            ...(call.id === undefined ? {} : { id: call.id }),
            name: call.name,
            arguments: args
          })
        ))

    const chat = (
      method: string,
      r: ChatRequest,
      onToken: (text: string) => Effect.Effect<void>
    ): Effect.Effect<ChatResponse, ProviderError.ProviderError> => {
      const body = {
        ...r.options,
        model: r.model,
        messages: r.messages.map(wireMessage),
        ...(r.temperature === undefined ? {} : { temperature: r.temperature }),
        ...(r.maxTokens === undefined ? {} : { max_tokens: r.maxTokens }),
        ...(r.seed === undefined ? {} : { seed: r.seed }),
        ...(r.stop === undefined || r.stop.length === 0 ? {} : { stop: r.stop }),
        ...(r.tools === undefined || r.tools.length === 0 ? {} : { tools: r.tools }),
        ...responseFormat(r.format),
        stream: r.stream,
        ...(r.stream ? { stream_options: { include_usage: true } } : {})
      }
      if (!r.stream) {
        return Effect.gen(function*() {
          const completion = yield* readJson(method, Completion, "/chat/completions", "POST", body)
          const choice = completion.choices[0]
          if (choice === undefined) {
            return yield* Effect.fail(Http.fail(method, { _tag: "BadResponse" }, "the completion has no choices"))
          }
          const calls = yield* toolCalls(
            method,
            (choice.message.tool_calls ?? []).map((c) => ({
              ...(c.id === undefined ? {} : { id: c.id }),
              name: c.function?.name ?? "",
              arguments: c.function?.arguments ?? ""
            }))
          )
          const result: ChatResponse = {
            text: choice.message.content ?? "",
            toolCalls: calls,
            promptTokens: completion.usage?.prompt_tokens ?? 0,
            completionTokens: completion.usage?.completion_tokens ?? 0,
            ...(choice.finish_reason == null ? {} : { doneReason: choice.finish_reason })
          }
          return result
        })
      }
      return Effect.scoped(Effect.gen(function*() {
        const response = yield* send(method, "POST", "/chat/completions", body)
        let text = ""
        let finished = false
        let doneReason: string | undefined
        let usage: { prompt_tokens: number; completion_tokens: number } | undefined
        const calls: Array<PartialCall> = []
        const take = (chunk: typeof Chunk.Type): Effect.Effect<void, ProviderError.ProviderError> => {
          if (chunk.error !== undefined) {
            return Effect.fail(
              Http.fail(
                method,
                { _tag: "HttpStatus", status: 500, body: { error: chunk.error.message } },
                `${endpoint.url}/chat/completions failed during generation: ${chunk.error.message}`
              )
            )
          }
          if (chunk.usage != null) usage = chunk.usage
          let delta = ""
          for (const choice of chunk.choices) {
            delta += choice.delta.content ?? ""
            if (choice.finish_reason != null) doneReason = choice.finish_reason
            for (const call of choice.delta.tool_calls ?? []) {
              const index = call.index ?? calls.length
              const current = calls[index] ?? { name: "", arguments: "" }
              if (call.id !== undefined) current.id = call.id
              current.name += call.function?.name ?? ""
              current.arguments += call.function?.arguments ?? ""
              calls[index] = current
            }
          }
          text += delta
          return delta === "" ? Effect.void : onToken(delta)
        }
        yield* Http.lines(method, response).pipe(
          Stream.filter((line) => line.startsWith("data:")),
          Stream.map((line) => line.slice(5).trim()),
          Stream.takeWhile((data) => {
            if (data === "[DONE]") finished = true
            return !finished
          }),
          Stream.mapEffect((data) => Http.decodeJson(method, Chunk, data, "SSE event")),
          Stream.runForEach(take)
        )
        if (!finished) {
          return yield* Effect.fail(
            Http.fail(
              method,
              { _tag: "BadResponse" },
              `${endpoint.url}/chat/completions: the stream ended before [DONE]`
            )
          )
        }
        const result: ChatResponse = {
          text,
          toolCalls: yield* toolCalls(method, calls.filter((c) => c !== undefined)),
          promptTokens: usage?.prompt_tokens ?? 0,
          completionTokens: usage?.completion_tokens ?? 0,
          ...(doneReason === undefined ? {} : { doneReason })
        }
        return result
      }))
    }

    const client: LlmClient = {
      type: "openai",
      url: endpoint.url,
      chat: (r, onToken) => chat("llm/chat", r, onToken),
      complete: (r, onToken) =>
        chat("llm/complete", {
          ...r,
          messages: [
            ...(r.system === undefined ? [] : [{ role: "system" as const, content: r.system }]),
            { role: "user", content: r.prompt, ...(r.images === undefined ? {} : { images: r.images }) }
          ]
        }, onToken),
      embed: (model, input) =>
        Effect.map(
          readJson("llm/embed", Embeddings, "/embeddings", "POST", { model, input, encoding_format: "base64" }),
          (e) => ({
            embeddings: [...e.data].sort((a, b) => a.index - b.index).map((d) =>
              typeof d.embedding === "string" ? floats(d.embedding) : d.embedding
            ),
            promptTokens: e.usage?.prompt_tokens ?? 0
          })
        ),
      models: Effect.map(readJson("llm/list_models", Models, "/models", "GET"), (m) => m.data.map((d) => d.id))
    }
    return client
  })
