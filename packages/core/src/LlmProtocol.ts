/**
 * `llm/v1`: chat, completion, vision, embeddings and model listing against Ollama or OpenAI-compatible servers.
 * Params follow the predecessor's format (`model`, `messages` or `prompt`, `temperature`, `max_tokens`,
 * `file_path`, `images`/`image_path`/`image_paths`); results always carry `response`, `model`, `instance` and
 * token `usage`.
 */
import * as Schema from "effect/Schema"
import { Json } from "./Json.js"
import * as Protocol from "./Protocol.js"

/** A chat role. */
export const Role = Schema.Literal("system", "user", "assistant", "tool")

/** A tool call the model asked for: `arguments` is always an object (decoded from OpenAI's JSON string). */
export const ToolCall = Schema.Struct({
  id: Schema.optional(Schema.String),
  name: Schema.String,
  arguments: Schema.Record({ key: Schema.String, value: Json })
})

/** A tool call the model asked for. */
export type ToolCall = typeof ToolCall.Type

/** One chat message; `images` are base64 strings. */
export const Message = Schema.Struct({
  role: Role,
  content: Schema.String,
  images: Schema.optional(Schema.Array(Schema.String)),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
  tool_call_id: Schema.optional(Schema.String)
})

/** One chat message. */
export type Message = typeof Message.Type

/** Structured output: `"json"` (any JSON object) or a JSON schema the answer must satisfy. */
export const Format = Schema.Union(Schema.Literal("json"), Schema.Record({ key: Schema.String, value: Json }))

/** A tool definition in OpenAI's shape (`{type: "function", function: {name, description, parameters}}`). */
export const Tool = Schema.Struct({
  type: Schema.optionalWith(Schema.Literal("function"), { default: () => "function" as const }),
  function: Schema.Struct({
    name: Schema.String,
    description: Schema.optional(Schema.String),
    parameters: Schema.optional(Schema.Record({ key: Schema.String, value: Json }))
  })
})

/** A tool definition. */
export type Tool = typeof Tool.Type

const nonNegative = Schema.Number.pipe(Schema.nonNegative())

/** Options shared by every generating method. */
const generation = {
  /** The model; `fallback_models` are tried in order when it cannot serve the call. */
  model: Schema.String.pipe(Schema.minLength(1)),
  fallback_models: Schema.optional(Schema.Array(Schema.String)),
  system: Schema.optional(Schema.String),
  temperature: Schema.optional(nonNegative),
  max_tokens: Schema.optional(Schema.Int.pipe(Schema.positive())),
  seed: Schema.optional(Schema.Int),
  stop: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  format: Schema.optional(Format),
  tools: Schema.optional(Schema.Array(Tool)),
  file_path: Schema.optional(Schema.String),
  images: Schema.optional(Schema.Array(Schema.String)),
  image_path: Schema.optional(Schema.String),
  image_paths: Schema.optional(Schema.Array(Schema.String)),
  /** Stream tokens to the run's events (default true). */
  stream: Schema.optional(Schema.Boolean),
  /** Use the response cache (deterministic requests only: temperature 0 or a seed). */
  cache: Schema.optional(Schema.Boolean),
  /** Instances must carry all these tags. */
  tags: Schema.optional(Schema.Array(Schema.String)),
  /** Backend options passed on as they are (Ollama `options`, extra OpenAI body fields), e.g. `num_ctx`. */
  options: Schema.optional(Schema.Record({ key: Schema.String, value: Json }))
}

/** Params of `llm/chat`. */
export const ChatParams = Schema.Struct({ ...generation, messages: Schema.Array(Message).pipe(Schema.minItems(1)) })

/** Params of `llm/chat`. */
export type ChatParams = typeof ChatParams.Type

/** Params of `llm/complete` (`llm/generate`). */
export const CompleteParams = Schema.Struct({ ...generation, prompt: Schema.String })

/** Params of `llm/complete`. */
export type CompleteParams = typeof CompleteParams.Type

/** Params of `llm/vision`: `messages` or `prompt`, with images given inline or by path. */
export const VisionParams = Schema.Struct({
  ...generation,
  messages: Schema.optional(Schema.Array(Message).pipe(Schema.minItems(1))),
  prompt: Schema.optional(Schema.String)
}).pipe(
  Schema.filter((p) => (p.messages === undefined) !== (p.prompt === undefined) || "give either 'messages' or 'prompt'"),
  Schema.filter((p) =>
    (p.images?.length ?? 0) > 0 || p.image_path !== undefined || (p.image_paths?.length ?? 0) > 0 ||
    (p.messages ?? []).some((m) => (m.images?.length ?? 0) > 0) ||
    "give 'images', 'image_path' or 'image_paths'"
  )
)

/** Params of `llm/vision`. */
export type VisionParams = typeof VisionParams.Type

/** Params of `llm/embed` (`llm/embeddings`): one text or a list (`input` is accepted for `text`). */
export const EmbedParams = Schema.Struct({
  model: Schema.String.pipe(Schema.minLength(1)),
  fallback_models: Schema.optional(Schema.Array(Schema.String)),
  text: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  input: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  file_path: Schema.optional(Schema.String),
  cache: Schema.optional(Schema.Boolean),
  tags: Schema.optional(Schema.Array(Schema.String))
}).pipe(
  Schema.filter((p) =>
    p.text !== undefined || p.input !== undefined || p.file_path !== undefined || "give 'text' (or 'input')"
  )
)

/** Params of `llm/embed`. */
export type EmbedParams = typeof EmbedParams.Type

/** Params of `llm/list_models`. */
export const ListModelsParams = Schema.Struct({})

/** Token counts of a call. */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.Number
})

/** Token counts of a call. */
export type Usage = typeof Usage.Type

/** A model tried before the one that served the call, and why it did not. */
export const Fallback = Schema.Struct({ model: Schema.String, error: Schema.String })

/** A model tried before the one that served the call. */
export type Fallback = typeof Fallback.Type

/** Result of `llm/chat`, `llm/complete` and `llm/vision`. */
export const GenerateResult = Schema.Struct({
  /** The generated text. */
  response: Schema.String,
  /** The model that served the call. */
  model: Schema.String,
  /** The instance (endpoint name) that served it. */
  instance: Schema.String,
  usage: Usage,
  /** The assistant message (chat and vision). */
  message: Schema.optional(Message),
  tool_calls: Schema.optional(Schema.Array(ToolCall)),
  /** The decoded JSON answer when `format` was given (validated against the schema). */
  parsed: Schema.optional(Json),
  /** `stop`, `length` or `tool_calls`. */
  done_reason: Schema.optional(Schema.String),
  /** True when the answer came from the response cache. */
  cached: Schema.Boolean,
  /** Models tried first that could not serve the call. */
  fallbacks: Schema.optional(Schema.Array(Fallback))
})

/** Result of a generating method. */
export type GenerateResult = typeof GenerateResult.Type

/** Result of `llm/embed`: `embedding` is the first vector, `embeddings` all of them. */
export const EmbedResult = Schema.Struct({
  response: Schema.String,
  model: Schema.String,
  instance: Schema.String,
  usage: Usage,
  embedding: Schema.Array(Schema.Number),
  embeddings: Schema.Array(Schema.Array(Schema.Number)),
  cached: Schema.Boolean,
  fallbacks: Schema.optional(Schema.Array(Fallback))
})

/** Result of `llm/embed`. */
export type EmbedResult = typeof EmbedResult.Type

/** Result of `llm/list_models`: each model with the healthy instances serving it. */
export const ListModelsResult = Schema.Struct({
  response: Schema.String,
  models: Schema.Array(Schema.Struct({ name: Schema.String, instances: Schema.Array(Schema.String) }))
})

/** Result of `llm/list_models`. */
export type ListModelsResult = typeof ListModelsResult.Type

const protocol = "llm/v1"

/** The params of generating methods that name host files (read by the runtime, within the path policy's roots). */
const generationPaths = ["file_path", "image_path", "image_paths"]

/** The `llm/v1` protocol. */
export const spec = Protocol.make(protocol, [
  Protocol.method({
    name: "llm/chat",
    protocol,
    hostPaths: generationPaths,
    description: "Chat with a model (messages, system, tools, JSON output); streams tokens",
    params: ChatParams,
    result: GenerateResult
  }),
  Protocol.method({
    name: "llm/complete",
    protocol,
    hostPaths: generationPaths,
    aliases: ["llm/generate"],
    description: "Complete a prompt; streams tokens",
    params: CompleteParams,
    result: GenerateResult
  }),
  Protocol.method({
    name: "llm/vision",
    protocol,
    hostPaths: generationPaths,
    description: "Ask a model about images (base64, image_path or image_paths)",
    params: VisionParams,
    result: GenerateResult
  }),
  Protocol.method({
    name: "llm/embed",
    protocol,
    hostPaths: ["file_path"],
    aliases: ["llm/embeddings"],
    description: "Embed a text or a list of texts",
    params: EmbedParams,
    result: EmbedResult,
    idempotent: true
  }),
  Protocol.method({
    name: "llm/list_models",
    protocol,
    description: "List the models of the healthy LLM instances",
    params: ListModelsParams,
    result: ListModelsResult,
    idempotent: true
  })
])
