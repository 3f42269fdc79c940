/**
 * A small JSON-schema checker for structured LLM output: `type` (incl. lists and `integer`), `enum`, `const`,
 * `properties`, `required`, `additionalProperties: false`, `items`, `minItems`/`maxItems`, `anyOf`/`oneOf`.
 * Returns the first violation with its path, or undefined when the value conforms.
 */
type Schema = { readonly [key: string]: unknown }

const typeOf = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "array"
    : typeof value === "number"
    ? (Number.isInteger(value) ? "integer" : "number")
    : typeof value

const matchesType = (value: unknown, type: unknown): boolean => {
  if (Array.isArray(type)) return type.some((t) => matchesType(value, t))
  const actual = typeOf(value)
  return actual === type || (type === "number" && actual === "integer")
}

const isSchema = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The first way `value` violates `schema` (`at path: what`), or undefined. */
export const violation = (schema: unknown, value: unknown, path = "$"): string | undefined => {
  if (!isSchema(schema)) return undefined
  if (schema.type !== undefined && !matchesType(value, schema.type)) {
    return `${path}: expected ${JSON.stringify(schema.type)}, got ${typeOf(value)}`
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return `${path}: not one of ${JSON.stringify(schema.enum)}`
  }
  if ("const" in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) {
    return `${path}: expected ${JSON.stringify(schema.const)}`
  }
  for (const key of ["anyOf", "oneOf"] as const) {
    const options = schema[key]
    if (Array.isArray(options) && !options.some((option) => violation(option, value, path) === undefined)) {
      return `${path}: matches none of ${key}`
    }
  }
  if (isSchema(value)) {
    const properties = isSchema(schema.properties) ? schema.properties : {}
    for (const name of Array.isArray(schema.required) ? schema.required : []) {
      if (!(String(name) in value)) return `${path}: missing required property '${String(name)}'`
    }
    for (const [name, child] of Object.entries(value)) {
      if (name in properties) {
        const found = violation(properties[name], child, `${path}.${name}`)
        if (found !== undefined) return found
      } else if (schema.additionalProperties === false) {
        return `${path}: unexpected property '${name}'`
      }
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === "number" && value.length < schema.minItems) return `${path}: too few items`
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) return `${path}: too many items`
    for (let i = 0; i < value.length; i++) {
      const found = violation(schema.items, value[i], `${path}[${i}]`)
      if (found !== undefined) return found
    }
  }
  return undefined
}
