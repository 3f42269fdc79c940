/**
 * What the LLM provider needs from one endpoint, whatever its wire format: chat (streamed token by token),
 * embeddings and the list of models. `OllamaClient` and `OpenAiClient` implement it over undici.
 */
import type { Json, LlmProtocol, ProviderError } from "@gleitzeit/core"
import type * as Effect from "effect/Effect"

/** A chat request in wire-neutral form. */
export interface ChatRequest {
  /** The model as the endpoint names it. */
  readonly model: string
  /** The conversation; a system prompt is the first message. */
  readonly messages: ReadonlyArray<LlmProtocol.Message>
  readonly temperature?: number
  readonly maxTokens?: number
  readonly seed?: number
  readonly stop?: ReadonlyArray<string>
  /** `"json"` or a JSON schema. */
  readonly format?: "json" | { readonly [key: string]: Json.Json }
  readonly tools?: ReadonlyArray<LlmProtocol.Tool>
  /** Backend options passed on as they are. */
  readonly options?: { readonly [key: string]: Json.Json }
  /** Stream the answer, calling `onToken` for each piece of text as it arrives. */
  readonly stream: boolean
}

/** A completion request (a prompt, not a conversation). */
export interface CompleteRequest extends Omit<ChatRequest, "messages" | "tools"> {
  readonly prompt: string
  readonly system?: string
  /** Base64 images (vision). */
  readonly images?: ReadonlyArray<string>
}

/** What a chat call produced. */
export interface ChatResponse {
  /** The whole text. */
  readonly text: string
  /** Tool calls the model asked for. */
  readonly toolCalls: ReadonlyArray<LlmProtocol.ToolCall>
  /** `stop`, `length`, `tool_calls`… as the endpoint said. */
  readonly doneReason?: string
  readonly promptTokens: number
  readonly completionTokens: number
}

/** What an embedding call produced. */
export interface EmbedResponse {
  /** One vector per input, in input order. */
  readonly embeddings: ReadonlyArray<ReadonlyArray<number>>
  readonly promptTokens: number
}

/** One LLM endpoint. Every call is aborted on interruption. */
export interface LlmClient {
  /** `ollama` or `openai`. */
  readonly type: "ollama" | "openai"
  /** The base URL. */
  readonly url: string
  /** Runs a chat; with `stream`, `onToken` sees each text delta in order before the call ends. */
  readonly chat: (
    request: ChatRequest,
    onToken: (text: string) => Effect.Effect<void>
  ) => Effect.Effect<ChatResponse, ProviderError.ProviderError>
  /** Completes a prompt (Ollama `/api/generate`; a one-message chat on OpenAI-compatible servers). */
  readonly complete: (
    request: CompleteRequest,
    onToken: (text: string) => Effect.Effect<void>
  ) => Effect.Effect<ChatResponse, ProviderError.ProviderError>
  /** Embeds texts. */
  readonly embed: (
    model: string,
    input: ReadonlyArray<string>
  ) => Effect.Effect<EmbedResponse, ProviderError.ProviderError>
  /** The models the endpoint serves (Ollama `/api/tags`, OpenAI `/v1/models`). */
  readonly models: Effect.Effect<ReadonlyArray<string>, ProviderError.ProviderError>
}

/** The name a model is matched by: Ollama's implicit `:latest` tag is dropped (`tiny-chat:latest` = `tiny-chat`). */
export const canonicalModel = (name: string): string => name.endsWith(":latest") ? name.slice(0, -7) : name
