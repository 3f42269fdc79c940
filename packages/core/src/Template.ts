/**
 * Parameter substitution: `${ref.path[0].field}` inside string values, recursively through maps and lists.
 *
 * - `ref` is a task id or name; the path walks that task's result.
 * - A leading `result` segment is optional when the result has no `result` key.
 * - `[n]` indexes lists (negative counts from the end); `["key"]` addresses keys with dots.
 * - A string that is exactly one reference keeps the value's type; otherwise values are interpolated as text.
 * - `$${` is a literal `${`.
 * - Anything that cannot be resolved is an error naming the reference; there is no literal fallback.
 */
import * as Either from "effect/Either"
import type { Json } from "./Json.js"
import * as JsonValue from "./Json.js"

/** One `${…}` reference. */
export interface Reference {
  /** The reference as written, e.g. `${summarize.response}`. */
  readonly text: string
  /** The task id or name it names. */
  readonly task: string
  /** The path inside the task's result. */
  readonly path: ReadonlyArray<string | number>
}

/** A parsed template string: literal text and references in order. */
export type Part = string | Reference

/** Why a template could not be parsed or resolved. */
export interface TemplateError {
  /** The reference (or fragment) at fault. */
  readonly reference: string
  /** What is wrong. */
  readonly message: string
}

const cache = new Map<string, ReadonlyArray<Part> | TemplateError>()

const parseExpression = (text: string, expr: string): Reference | TemplateError => {
  let i = 0
  while (i < expr.length && expr[i] !== "." && expr[i] !== "[") i++
  const task = expr.slice(0, i).trim()
  if (task === "") return { reference: text, message: `reference ${text} names no task` }
  const path: Array<string | number> = []
  while (i < expr.length) {
    if (expr[i] === ".") {
      let j = i + 1
      while (j < expr.length && expr[j] !== "." && expr[j] !== "[") j++
      const key = expr.slice(i + 1, j)
      if (key === "") return { reference: text, message: `reference ${text} has an empty path segment` }
      path.push(key)
      i = j
    } else {
      const close = expr.indexOf("]", i)
      if (close < 0) return { reference: text, message: `reference ${text} has an unclosed '['` }
      const inner = expr.slice(i + 1, close).trim()
      if (/^-?\d+$/.test(inner)) path.push(Number(inner))
      else if (/^(".*"|'.*')$/.test(inner)) path.push(inner.slice(1, -1))
      else return { reference: text, message: `reference ${text}: '[${inner}]' is neither an index nor a quoted key` }
      i = close + 1
    }
  }
  return { text, task, path }
}

/** Parses a string into literal parts and references. */
export const parse = (input: string): ReadonlyArray<Part> | TemplateError => {
  const cached = cache.get(input)
  if (cached !== undefined) return cached
  const parts: Array<Part> = []
  let literal = ""
  let i = 0
  let result: ReadonlyArray<Part> | TemplateError | undefined
  while (i < input.length) {
    const start = input.indexOf("${", i)
    if (start < 0) {
      literal += input.slice(i)
      break
    }
    if (start > 0 && input[start - 1] === "$") {
      literal += input.slice(i, start - 1) + "${"
      i = start + 2
      continue
    }
    literal += input.slice(i, start)
    const end = input.indexOf("}", start + 2)
    if (end < 0) {
      result = { reference: input.slice(start), message: `unterminated reference '${input.slice(start)}'` }
      break
    }
    const text = input.slice(start, end + 1)
    const ref = parseExpression(text, input.slice(start + 2, end))
    if ("message" in ref) {
      result = ref
      break
    }
    if (literal !== "") parts.push(literal)
    literal = ""
    parts.push(ref)
    i = end + 1
  }
  if (result === undefined) {
    if (literal !== "") parts.push(literal)
    result = parts
  }
  if (cache.size > 10_000) cache.clear()
  cache.set(input, result)
  return result
}

const isError = (parsed: ReadonlyArray<Part> | TemplateError): parsed is TemplateError => !Array.isArray(parsed)

/** True when the string contains at least one reference (or a malformed one). */
export const hasReference = (input: string): boolean => {
  const parsed = parse(input)
  return isError(parsed) || parsed.some((part) => typeof part !== "string")
}

/** Every reference in a JSON value, plus the malformed ones as errors. */
export const references = (value: Json): { refs: Array<Reference>; errors: Array<TemplateError> } => {
  const refs: Array<Reference> = []
  const errors: Array<TemplateError> = []
  const visit = (v: Json): void => {
    if (typeof v === "string") {
      if (!v.includes("${")) return
      const parsed = parse(v)
      if (isError(parsed)) errors.push(parsed)
      else for (const part of parsed) if (typeof part !== "string") refs.push(part)
    } else if (Array.isArray(v)) {
      for (const item of v) visit(item)
    } else if (JsonValue.isObject(v)) {
      for (const key in v) visit(v[key]!)
    }
  }
  visit(value)
  return { refs, errors }
}

const describe = (path: ReadonlyArray<string | number>, upTo: number): string =>
  path.slice(0, upTo).map((seg) => typeof seg === "number" ? `[${seg}]` : `.${seg}`).join("")

/** Walks a reference's path inside a task result. */
export const walk = (result: Json, ref: Reference): Either.Either<Json, TemplateError> => {
  let path = ref.path
  if (path[0] === "result" && !(JsonValue.isObject(result) && "result" in result)) path = path.slice(1)
  let current: Json = result
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!
    if (Array.isArray(current)) {
      const index = typeof seg === "number" ? seg : /^-?\d+$/.test(seg) ? Number(seg) : Number.NaN
      const at = index < 0 ? current.length + index : index
      if (!Number.isInteger(at) || at < 0 || at >= current.length) {
        return Either.left({
          reference: ref.text,
          message: `${ref.text}: index ${String(seg)} is out of range at '${ref.task}${
            describe(path, i)
          }' (a list of ${current.length})`
        })
      }
      current = current[at]!
    } else if (JsonValue.isObject(current) && Object.prototype.hasOwnProperty.call(current, String(seg))) {
      current = current[String(seg)]!
    } else {
      const keys = JsonValue.isObject(current) ? Object.keys(current) : []
      return Either.left({
        reference: ref.text,
        message: `${ref.text}: '${ref.task}${describe(path, i)}' has no field '${String(seg)}'${
          keys.length > 0 ? ` (it has: ${keys.slice(0, 10).join(", ")})` : ` (it is ${typeName(current)})`
        }`
      })
    }
  }
  return Either.right(current)
}

const typeName = (value: Json): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "a list"
    : typeof value === "object"
    ? "an object"
    : `a ${typeof value}`

/**
 * Substitutes every reference in `value`. `lookup` returns the result of a task (by id or name), or undefined
 * when that task has no result.
 */
export const resolve = (
  value: Json,
  lookup: (task: string) => Json | undefined
): Either.Either<Json, TemplateError> => {
  let failure: TemplateError | undefined
  const resolveRef = (ref: Reference): Json | undefined => {
    const result = lookup(ref.task)
    if (result === undefined) {
      failure = { reference: ref.text, message: `${ref.text}: task '${ref.task}' has no result` }
      return undefined
    }
    const walked = walk(result, ref)
    if (Either.isLeft(walked)) {
      failure = walked.left
      return undefined
    }
    return walked.right
  }
  const visit = (v: Json): Json => {
    if (failure !== undefined) return v
    if (typeof v === "string") {
      if (!v.includes("${")) return v
      const parsed = parse(v)
      if (isError(parsed)) {
        failure = parsed
        return v
      }
      if (parsed.length === 1 && typeof parsed[0] !== "string") {
        const resolved = resolveRef(parsed[0]!)
        return resolved === undefined ? v : resolved
      }
      let out = ""
      for (const part of parsed) {
        if (typeof part === "string") out += part
        else {
          const resolved = resolveRef(part)
          if (resolved === undefined) return v
          out += JsonValue.toText(resolved)
        }
      }
      return out
    }
    if (Array.isArray(v)) {
      let changed = false
      const out = v.map((item) => {
        const next = visit(item)
        if (next !== item) changed = true
        return next
      })
      return changed ? out : v
    }
    if (JsonValue.isObject(v)) {
      let out: Record<string, Json> | undefined
      for (const key in v) {
        const item = v[key]!
        const next = visit(item)
        if (next !== item) {
          out ??= { ...v }
          out[key] = next
        }
      }
      return out ?? v
    }
    return v
  }
  const resolved = visit(value)
  return failure === undefined ? Either.right(resolved) : Either.left(failure)
}
