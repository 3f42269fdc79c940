/**
 * Turns the JSON Schemas clients send (Ollama `format`, OpenAI `response_format` and tool parameters) into the
 * subset node-llama-cpp compiles to a grammar, bounded so that a random-weight model always finishes: strings get
 * a maximum length, arrays a maximum item count and free-form objects a maximum property count. Everything the
 * bounded schema accepts is also accepted by the original one.
 */
import type { GbnfJsonSchema } from "node-llama-cpp"

/** A schema the grammar compiler cannot express; the server answers 400 with its message. */
export class UnsupportedSchema extends Error {}

const maxString = 24
const maxItems = 4
const maxProperties = 4

type Json = { readonly [key: string]: unknown }

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const anyScalar: GbnfJsonSchema = {
  oneOf: [{ type: "string", maxLength: maxString }, { type: "number" }, { type: "boolean" }, { type: "null" }]
}

/** The schema used for "any JSON object" (Ollama `format: "json"`, OpenAI `json_object`). */
export const anyObject: GbnfJsonSchema = { type: "object", additionalProperties: anyScalar, maxProperties }

/** Converts a client's JSON Schema to a bounded grammar schema. */
export const normalize = (schema: unknown): GbnfJsonSchema => {
  if (schema !== true && !isObject(schema)) throw new UnsupportedSchema("a JSON schema must be an object")
  const body = convert(schema)
  const defs = isObject(schema) ? (schema["$defs"] ?? schema["definitions"]) : undefined
  if (!isObject(defs)) return body
  const converted: Record<string, GbnfJsonSchema> = {}
  for (const [name, def] of Object.entries(defs)) converted[name] = convert(def)
  return { ...body, $defs: converted } as GbnfJsonSchema
}

/** The schema of a forced tool call: `{"name": <one of the tools>, "arguments": <its parameters>}`. */
export const toolCall = (tools: ReadonlyArray<{ readonly name: string; readonly parameters: unknown }>) => {
  const calls = tools.map((tool): GbnfJsonSchema => ({
    type: "object",
    properties: {
      name: { const: tool.name },
      arguments: tool.parameters === undefined ? { type: "object", properties: {} } : normalize(tool.parameters)
    },
    required: ["name", "arguments"]
  }))
  return calls.length === 1 ? calls[0]! : { oneOf: calls }
}

const immutable = new Set(["string", "number", "integer", "boolean", "null"])

const convert = (schema: unknown): GbnfJsonSchema => {
  if (schema === true) return anyScalar
  if (!isObject(schema)) throw new UnsupportedSchema(`unsupported schema: ${JSON.stringify(schema)}`)
  if (typeof schema["$ref"] === "string") {
    const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(schema["$ref"])
    if (!match) throw new UnsupportedSchema(`unsupported $ref: ${schema["$ref"]}`)
    return { $ref: `#/$defs/${match[1]}` } as GbnfJsonSchema
  }
  if ("const" in schema) return { const: schema["const"] as string | number | boolean | null }
  if (Array.isArray(schema["enum"])) return { enum: schema["enum"] as Array<string | number | boolean | null> }
  const alternatives = schema["anyOf"] ?? schema["oneOf"]
  if (Array.isArray(alternatives)) return { oneOf: alternatives.map(convert) }
  if (Array.isArray(schema["allOf"])) {
    if (schema["allOf"].length === 1) return convert(schema["allOf"][0])
    throw new UnsupportedSchema("unsupported schema: allOf with several members")
  }
  const type = schema["type"]
  if (Array.isArray(type)) return { oneOf: type.map((t) => convert({ ...schema, type: t })) }
  if (type === "object" || (type === undefined && isObject(schema["properties"]))) return object(schema)
  if (type === "array" || (type === undefined && schema["items"] !== undefined)) return array(schema)
  if (type === "string") return string(schema)
  if (typeof type === "string" && immutable.has(type)) return { type: type as "number" }
  if (type === undefined) return anyScalar
  throw new UnsupportedSchema(`unsupported schema type: ${JSON.stringify(type)}`)
}

const string = (schema: Json): GbnfJsonSchema => {
  const format = schema["format"]
  if (format === "date-time" || format === "date" || format === "time") return { type: "string", format }
  const minLength = typeof schema["minLength"] === "number" ? schema["minLength"] : 0
  const requested = typeof schema["maxLength"] === "number" ? schema["maxLength"] : maxString
  return { type: "string", minLength, maxLength: Math.max(minLength, Math.min(requested, maxString)) }
}

const object = (schema: Json): GbnfJsonSchema => {
  const properties: Record<string, GbnfJsonSchema> = {}
  if (isObject(schema["properties"])) {
    for (const [key, value] of Object.entries(schema["properties"])) properties[key] = convert(value)
  }
  const names = Object.keys(properties)
  const required = Array.isArray(schema["required"])
    ? schema["required"].filter((name): name is string => typeof name === "string" && name in properties)
    : names
  const extra = schema["additionalProperties"]
  const open = names.length === 0 ? extra !== false : isObject(extra)
  if (!open) return { type: "object", properties, required }
  return {
    type: "object",
    properties,
    required,
    additionalProperties: isObject(extra) ? convert(extra) : anyScalar,
    maxProperties: names.length + maxProperties
  }
}

const array = (schema: Json): GbnfJsonSchema => {
  const minItems = typeof schema["minItems"] === "number" ? schema["minItems"] : 0
  const requested = typeof schema["maxItems"] === "number" ? schema["maxItems"] : maxItems
  const prefix = Array.isArray(schema["prefixItems"]) ? { prefixItems: schema["prefixItems"].map(convert) } : {}
  return {
    type: "array",
    ...prefix,
    items: schema["items"] === undefined || schema["items"] === true ? anyScalar : convert(schema["items"]),
    minItems,
    maxItems: Math.max(minItems, Math.min(requested, maxItems))
  } as GbnfJsonSchema
}
