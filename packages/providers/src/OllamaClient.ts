/**
 * An `LlmClient` for Ollama's API (`/api/chat`, `/api/generate`, `/api/embed`, `/api/tags`) over one pooled
 * undici agent. Streaming answers are NDJSON; every line is checked, because Ollama reports a failure during
 * generation as an `{"error": …}` line of an HTTP 200 response.
 */
import type { LlmProtocol, ProviderError } from "@gleitzeit/core"
import { Json } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Http from "./internal/llm/http.js"
import type { ChatRequest, ChatResponse, CompleteRequest, LlmClient } from "./LlmClient.js"

/** How to reach an Ollama server. */
export interface Options {
  /** Base URL, e.g. `http://127.0.0.1:11434`. */
  readonly url: string
  /** Connections kept to it (default 16). */
  readonly connections?: number
}

const WireToolCall = Schema.Struct({
  function: Schema.Struct({ name: Schema.String, arguments: Schema.Record({ key: Schema.String, value: Json.Json }) })
})

/** One NDJSON line (or the whole answer without streaming). */
const Chunk = Schema.Struct({
  error: Schema.optional(Schema.String),
  response: Schema.optional(Schema.String),
  message: Schema.optional(Schema.Struct({
    content: Schema.optionalWith(Schema.String, { default: () => "" }),
    tool_calls: Schema.optional(Schema.Array(WireToolCall))
  })),
  done: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  done_reason: Schema.optional(Schema.String),
  prompt_eval_count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  eval_count: Schema.optionalWith(Schema.Number, { default: () => 0 })
})

/** The message of Ollama's error body `{error}`. */
const ErrorMessage = Schema.Struct({ error: Schema.String }).pipe(Schema.pluck("error"))
const Tags = Schema.Struct({ models: Schema.Array(Schema.Struct({ name: Schema.String })) })
const Embed = Schema.Struct({
  embeddings: Schema.Array(Schema.Array(Schema.Number)),
  prompt_eval_count: Schema.optionalWith(Schema.Number, { default: () => 0 })
})

interface Accumulated {
  text: string
  toolCalls: Array<LlmProtocol.ToolCall>
  done: boolean
  doneReason?: string
  promptTokens: number
  completionTokens: number
}

const options = (r: Omit<ChatRequest, "messages" | "tools" | "format" | "stream">) => {
  const o: Record<string, unknown> = { ...r.options }
  if (r.temperature !== undefined) o.temperature = r.temperature
  if (r.seed !== undefined) o.seed = r.seed
  if (r.maxTokens !== undefined) o.num_predict = r.maxTokens
  if (r.stop !== undefined && r.stop.length > 0) o.stop = r.stop
  return o
}

const wireMessage = (m: LlmProtocol.Message) => ({
  role: m.role,
  content: m.content,
  ...(m.images === undefined ? {} : { images: m.images }),
  ...(m.tool_calls === undefined
    ? {}
    : { tool_calls: m.tool_calls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) })
})

/** Builds a client whose agent lives as long as the scope. */
export const make = (config: Options): Effect.Effect<LlmClient, never, Scope.Scope> =>
  Effect.gen(function*() {
    const endpoint: Http.Endpoint = {
      agent: yield* Http.agent(config.connections ?? 16),
      url: config.url.replace(/\/+$/, "")
    }

    const { readJson, send } = Http.requests(endpoint, ErrorMessage)

    /** Runs a generation (chat or generate), streaming or not, into one `ChatResponse`. */
    const generate = (
      method: string,
      path: string,
      body: Record<string, unknown>,
      stream: boolean,
      onToken: (text: string) => Effect.Effect<void>
    ): Effect.Effect<ChatResponse, ProviderError.ProviderError> =>
      Effect.scoped(Effect.gen(function*() {
        const response = yield* send(method, "POST", path, { ...body, stream })
        const state: Accumulated = { text: "", toolCalls: [], done: false, promptTokens: 0, completionTokens: 0 }
        const take = (chunk: typeof Chunk.Type): Effect.Effect<void, ProviderError.ProviderError> => {
          if (chunk.error !== undefined) {
            return Effect.fail(
              Http.fail(
                method,
                { _tag: "HttpStatus", status: 500, body: { error: chunk.error } },
                `${endpoint.url}${path} failed during generation: ${chunk.error}`
              )
            )
          }
          const delta = chunk.message?.content ?? chunk.response ?? ""
          for (const call of chunk.message?.tool_calls ?? []) {
            state.toolCalls.push({ name: call.function.name, arguments: call.function.arguments })
          }
          state.text += delta
          if (chunk.done) {
            state.done = true
            if (chunk.done_reason !== undefined) state.doneReason = chunk.done_reason
            state.promptTokens = chunk.prompt_eval_count
            state.completionTokens = chunk.eval_count
          }
          return stream && delta !== "" ? onToken(delta) : Effect.void
        }
        yield* Http.lines(method, response).pipe(
          Stream.filter((line) => line.trim() !== ""),
          Stream.mapEffect((line) => Http.decodeJson(method, Chunk, line, `${path} line`)),
          Stream.runForEach(take)
        )
        if (!state.done) {
          return yield* Effect.fail(
            Http.fail(method, { _tag: "BadResponse" }, `${endpoint.url}${path}: the answer ended before 'done'`)
          )
        }
        const result: ChatResponse = {
          text: state.text,
          toolCalls: state.toolCalls,
          promptTokens: state.promptTokens,
          completionTokens: state.completionTokens,
          ...(state.doneReason === undefined
            ? {}
            : { doneReason: state.toolCalls.length > 0 ? "tool_calls" : state.doneReason })
        }
        return result
      }))

    const client: LlmClient = {
      type: "ollama",
      url: endpoint.url,
      chat: (r, onToken) =>
        generate(
          "llm/chat",
          "/api/chat",
          {
            model: r.model,
            messages: r.messages.map(wireMessage),
            options: options(r),
            ...(r.format === undefined ? {} : { format: r.format }),
            ...(r.tools === undefined || r.tools.length === 0 ? {} : { tools: r.tools })
          },
          r.stream,
          onToken
        ),
      complete: (r: CompleteRequest, onToken) =>
        generate(
          "llm/complete",
          "/api/generate",
          {
            model: r.model,
            prompt: r.prompt,
            options: options(r),
            ...(r.system === undefined ? {} : { system: r.system }),
            ...(r.images === undefined || r.images.length === 0 ? {} : { images: r.images }),
            ...(r.format === undefined ? {} : { format: r.format })
          },
          r.stream,
          onToken
        ),
      embed: (model, input) =>
        Effect.map(
          readJson("llm/embed", Embed, "/api/embed", "POST", { model, input }),
          (e) => ({ embeddings: e.embeddings, promptTokens: e.prompt_eval_count })
        ),
      models: Effect.map(
        readJson("llm/list_models", Tags, "/api/tags", "GET"),
        (tags) => tags.models.map((m) => m.name)
      )
    }
    return client
  })
