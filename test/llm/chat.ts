/**
 * Request parts both wire formats share: tool definitions (the same `{type: "function", function}` shape in
 * Ollama and OpenAI), the forced tool call, structured-output grammars, stop lists, images, and default limits.
 *
 * Tool calls from a random model: when a request offers tools (and `tool_choice` is not "none") and its last
 * message is not a tool result, the answer is forced, through a grammar, to be a call of one of the tools with
 * arguments valid for its parameter schema. After a tool result the model answers in text. That gives clients a
 * complete call → result → answer loop.
 */
import type { GbnfJsonSchema } from "node-llama-cpp"
import type { ChatMessage, Tool, ToolCall } from "./engine.js"
import { HttpError, isJson, type Json } from "./http.js"
import * as Schema from "./schema.js"

/** Tokens generated when a request sets no limit (real servers generate until the context is full). */
export const defaultMaxTokens = 128
/** Tokens allowed for grammar-constrained output (JSON and tool calls), which is bounded by the grammar. */
export const structuredMaxTokens = 512

/** Decodes `tools: [{type: "function", function: {name, description?, parameters?}}]`. */
export const tools = (value: unknown): ReadonlyArray<Tool> => {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new HttpError(400, "invalid value for \"tools\": expected array")
  return value.map((tool): Tool => {
    const fn = isJson(tool) ? tool["function"] : undefined
    if (!isJson(fn) || typeof fn["name"] !== "string" || fn["name"] === "") {
      throw new HttpError(400, "each tool must be {type: \"function\", function: {name, parameters}}")
    }
    return {
      name: fn["name"],
      description: typeof fn["description"] === "string" ? fn["description"] : "",
      parameters: fn["parameters"]
    }
  })
}

/** The grammar forcing a call of one of `offered`, or undefined when the model should answer in text. */
export const forcedToolCall = (
  offered: ReadonlyArray<Tool>,
  messages: ReadonlyArray<ChatMessage>,
  choice: unknown
): GbnfJsonSchema | undefined => {
  if (offered.length === 0 || choice === "none") return undefined
  const named = isJson(choice) && isJson(choice["function"]) ? choice["function"]["name"] : undefined
  const candidates = typeof named === "string" ? offered.filter((tool) => tool.name === named) : offered
  if (candidates.length === 0) throw new HttpError(400, `tool_choice names an unknown tool: ${String(named)}`)
  const forced = choice === "required" || typeof named === "string"
  if (!forced && messages.at(-1)?.role === "tool") return undefined
  return grammar(() => Schema.toolCall(candidates))
}

/** Reads the tool call a forced generation produced; undefined when it was cut short. */
export const parseToolCall = (text: string): ToolCall | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (isJson(value) && typeof value["name"] === "string" && isJson(value["arguments"])) {
      return { name: value["name"], arguments: value["arguments"] }
    }
  } catch {
    // A generation cut short by the token limit is not JSON: the caller answers with the text instead.
  }
  return undefined
}

/** Compiles a client schema to a grammar schema, answering 400 for what cannot be expressed. */
export const grammar = (build: () => GbnfJsonSchema): GbnfJsonSchema => {
  try {
    return build()
  } catch (cause) {
    if (cause instanceof Schema.UnsupportedSchema) throw new HttpError(400, `invalid JSON schema: ${cause.message}`)
    throw cause
  }
}

/** Decodes a stop list given as one string or a list of strings. */
export const stopList = (value: unknown, key: string): ReadonlyArray<string> => {
  if (value === undefined || value === null) return []
  if (typeof value === "string") return value === "" ? [] : [value]
  if (Array.isArray(value) && value.every((s) => typeof s === "string")) return value.filter((s) => s !== "")
  throw new HttpError(400, `invalid value for "${key}": expected a string or a list of strings`)
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Checks base64 images (the random model ignores their content); answers 400 for anything else. */
export const checkImages = (value: unknown): number => {
  if (value === undefined || value === null) return 0
  if (!Array.isArray(value)) throw new HttpError(400, "invalid value for \"images\": expected a list of base64 strings")
  for (const image of value) {
    if (typeof image !== "string" || image.length === 0 || !base64.test(image.replace(/\s/g, ""))) {
      throw new HttpError(400, "invalid image data: expected base64")
    }
  }
  return value.length
}

/** A sampling option that must be a number when present. */
export const numberOption = (options: Json, key: string): number | undefined => {
  const value = options[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== "number" || !Number.isFinite(value)) throw new HttpError(400, `option "${key}" must be a number`)
  return value
}
