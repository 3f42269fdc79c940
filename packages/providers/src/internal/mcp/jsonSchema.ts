/**
 * JSON Schema (the subset MCP servers use for tool inputs) → Effect Schema, so a tool's params are checked by the
 * same machinery as every other method's (per-path issues, templates skipped at load time). Decoding never changes
 * the value: unknown keywords (`$ref`, `format`, `not`…) are accepted as they are and left to the server.
 */
import * as Schema from "effect/Schema"

type JsonSchema = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is JsonSchema => typeof u === "object" && u !== null && !Array.isArray(u)

const literalOf = (values: ReadonlyArray<unknown>): Schema.Schema.AnyNoContext => {
  const literals = values.filter((v): v is string | number | boolean | null =>
    v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean"
  )
  return literals.length === values.length && literals.length > 0 ? Schema.Literal(...literals) : Schema.Unknown
}

const union = (members: ReadonlyArray<Schema.Schema.AnyNoContext>): Schema.Schema.AnyNoContext =>
  members.length === 0 ? Schema.Unknown : members.length === 1 ? members[0]! : Schema.Union(...members)

const ofType = (type: string, schema: JsonSchema): Schema.Schema.AnyNoContext => {
  switch (type) {
    case "string": {
      let s: Schema.Schema<string> = Schema.String
      if (typeof schema.minLength === "number") s = s.pipe(Schema.minLength(schema.minLength))
      if (typeof schema.maxLength === "number") s = s.pipe(Schema.maxLength(schema.maxLength))
      if (typeof schema.pattern === "string") s = s.pipe(Schema.pattern(new RegExp(schema.pattern, "u")))
      return s
    }
    case "number":
    case "integer": {
      let n: Schema.Schema<number> = type === "integer" ? Schema.Number.pipe(Schema.int()) : Schema.Number
      if (typeof schema.minimum === "number") n = n.pipe(Schema.greaterThanOrEqualTo(schema.minimum))
      if (typeof schema.maximum === "number") n = n.pipe(Schema.lessThanOrEqualTo(schema.maximum))
      if (typeof schema.exclusiveMinimum === "number") n = n.pipe(Schema.greaterThan(schema.exclusiveMinimum))
      if (typeof schema.exclusiveMaximum === "number") n = n.pipe(Schema.lessThan(schema.exclusiveMaximum))
      return n
    }
    case "boolean":
      return Schema.Boolean
    case "null":
      return Schema.Null
    case "array": {
      const items = isObject(schema.items) ? fromJsonSchema(schema.items) : Schema.Unknown
      let a: Schema.Schema<ReadonlyArray<unknown>> = Schema.Array(items as Schema.Schema<unknown>)
      if (typeof schema.minItems === "number") a = a.pipe(Schema.minItems(schema.minItems))
      if (typeof schema.maxItems === "number") a = a.pipe(Schema.maxItems(schema.maxItems))
      return a
    }
    case "object":
      return objectOf(schema)
    default:
      return Schema.Unknown
  }
}

const objectOf = (schema: JsonSchema): Schema.Schema.AnyNoContext => {
  const properties = isObject(schema.properties) ? schema.properties : {}
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === "string") : [])
  const fields: Record<string, Schema.Schema<unknown> | Schema.optionalWith<Schema.Schema<unknown>, { exact: true }>> =
    {}
  for (const [key, value] of Object.entries(properties)) {
    const field = (isObject(value) ? fromJsonSchema(value) : Schema.Unknown) as Schema.Schema<unknown>
    fields[key] = required.has(key) ? field : Schema.optionalWith(field, { exact: true })
  }
  for (const key of required) if (!(key in fields)) fields[key] = Schema.Unknown
  // Keys of `properties` are checked by their fields only; every other key by `additionalProperties`.
  const declared = new Set(Object.keys(fields))
  const otherKey = Schema.String.pipe(Schema.filter((key) => !declared.has(key)))
  const rest = schema.additionalProperties === false
    ? Schema.Never.annotations({ message: () => "unexpected property (the tool's schema does not allow it)" })
    : isObject(schema.additionalProperties)
    ? fromJsonSchema(schema.additionalProperties)
    : Schema.Unknown
  return Schema.Struct(fields, Schema.Record({ key: otherKey, value: rest as Schema.Schema<unknown> }))
}

/** The Effect Schema of a JSON Schema; constructs outside the common subset accept any value. */
export const fromJsonSchema = (schema: JsonSchema): Schema.Schema.AnyNoContext => {
  if (Array.isArray(schema.enum)) return literalOf(schema.enum)
  if ("const" in schema) return literalOf([schema.const])
  const alternatives = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
    ? schema.oneOf
    : undefined
  if (alternatives !== undefined) {
    return union(alternatives.map((a) => isObject(a) ? fromJsonSchema(a) : Schema.Unknown))
  }
  const type = schema.type
  if (Array.isArray(type)) return union(type.filter((t) => typeof t === "string").map((t) => ofType(t, schema)))
  if (typeof type === "string") return ofType(type, schema)
  if (isObject(schema.properties)) return objectOf(schema)
  return Schema.Unknown
}

/** The params schema of a tool: its input schema, which must describe an object. */
export const toolParams = (inputSchema: unknown): Schema.Schema.AnyNoContext =>
  isObject(inputSchema) ? fromJsonSchema({ ...inputSchema, type: "object" }) : objectOf({})
