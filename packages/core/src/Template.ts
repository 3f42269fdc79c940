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

/** The namespace of secret references: `${secrets.NAME}` names a secret of the configuration, not a task. */
export const secretsNamespace = "secrets"

/** A secret's name: letters, digits and `_`, not starting with a digit. */
export const secretName = /^[A-Za-z_][A-Za-z0-9_]*$/

/** True when a reference names a secret (`${secrets.NAME}`) rather than a task. */
export const isSecret = (ref: Reference): boolean => ref.task === secretsNamespace

/** How `resolve` treats what it substitutes. */
export interface ResolveOptions {
  /**
   * Leave `${secrets.NAME}` references for a later `resolveSecrets` (the executor's), instead of failing on them.
   * The output is then itself a template whose only references are secrets: every `$` of literal text and of
   * substituted values is written `$$`, so nothing a task returned can pose as a secret reference.
   */
  readonly deferSecrets?: boolean
  /**
   * Top-level keys whose strings are Python source: values substituted into them are written as Python literals
   * (`{"ok": true}` → `{"ok": True}`, `null` → `None`); strings are inserted as they are.
   */
  readonly pythonAt?: ReadonlyArray<string>
}

/** A JSON value as Python source (the literal Python's `repr` would read back as the same value). */
export const toPython = (value: Json): string => {
  if (value === null) return "None"
  if (value === true) return "True"
  if (value === false) return "False"
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "None"
  if (typeof value === "string") return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(toPython).join(", ")}]`
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toPython(v)}`).join(", ")}}`
}

const escapeDollars = (text: string): string => text.includes("$") ? text.replaceAll("$", "$$$$") : text

/** Every string inside a value with its `$` doubled (for the output of a deferring `resolve`). */
const escapeDeep = (value: Json): Json => {
  if (typeof value === "string") return escapeDollars(value)
  if (Array.isArray(value)) return value.map(escapeDeep)
  if (JsonValue.isObject(value)) {
    const out: Record<string, Json> = {}
    for (const key in value) out[key] = escapeDeep(value[key]!)
    return out
  }
  return value
}

/**
 * Substitutes every reference in `value`. `lookup` returns the result of a task (by id or name), or undefined
 * when that task has no result.
 */
export const resolve = (
  value: Json,
  lookup: (task: string) => Json | undefined,
  options: ResolveOptions = {}
): Either.Either<Json, TemplateError> => {
  let failure: TemplateError | undefined
  const defer = options.deferSecrets === true
  const resolveRef = (ref: Reference): Json | undefined => {
    if (isSecret(ref)) {
      failure = { reference: ref.text, message: `${ref.text}: secrets can only be used in task params` }
      return undefined
    }
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
  const visitString = (v: string, python: boolean): Json => {
    if (!v.includes("${")) return defer ? escapeDollars(v) : v
    const parsed = parse(v)
    if (isError(parsed)) {
      failure = parsed
      return v
    }
    if (parsed.length === 1 && typeof parsed[0] !== "string" && !python && !(defer && isSecret(parsed[0]!))) {
      const resolved = resolveRef(parsed[0]!)
      return resolved === undefined ? v : defer ? escapeDeep(resolved) : resolved
    }
    let out = ""
    for (const part of parsed) {
      if (typeof part === "string") out += defer ? escapeDollars(part) : part
      else if (defer && isSecret(part)) out += `\${${secretsNamespace}.${String(part.path[0])}}`
      else {
        const resolved = resolveRef(part)
        if (resolved === undefined) return v
        const text = python && typeof resolved !== "string" ? toPython(resolved) : JsonValue.toText(resolved)
        out += defer ? escapeDollars(text) : text
      }
    }
    return out
  }
  const visit = (v: Json, python: boolean): Json => {
    if (failure !== undefined) return v
    if (typeof v === "string") return visitString(v, python)
    if (Array.isArray(v)) {
      let changed = false
      const out = v.map((item) => {
        const next = visit(item, python)
        if (next !== item) changed = true
        return next
      })
      return changed ? out : v
    }
    if (JsonValue.isObject(v)) {
      let out: Record<string, Json> | undefined
      for (const key in v) {
        const item = v[key]!
        const next = visit(item, python)
        if (next !== item) {
          out ??= { ...v }
          out[key] = next
        }
      }
      return out ?? v
    }
    return v
  }
  const pythonAt = options.pythonAt ?? []
  const resolved = pythonAt.length === 0 || !JsonValue.isObject(value)
    ? visit(value, false)
    : (() => {
      let out: Record<string, Json> | undefined
      for (const key in value) {
        const item = value[key]!
        const next = visit(item, pythonAt.includes(key))
        if (next !== item) {
          out ??= { ...value }
          out[key] = next
        }
      }
      return out ?? value
    })()
  return failure === undefined ? Either.right(resolved) : Either.left(failure)
}

/**
 * The second pass over the output of a deferring `resolve`: `${secrets.NAME}` becomes the secret's value, `$$`
 * becomes `$`. `secret` returns a secret's value, or undefined when none by that name is configured. Also returns
 * the values used (to keep them out of results and errors).
 */
export const resolveSecrets = (
  value: Json,
  secret: (name: string) => string | undefined
): Either.Either<{ readonly value: Json; readonly used: ReadonlyArray<string> }, TemplateError> => {
  const used: Array<string> = []
  let failure: TemplateError | undefined
  const visitString = (text: string): string => {
    if (!text.includes("$")) return text
    let out = ""
    let i = 0
    while (i < text.length) {
      const at = text.indexOf("$", i)
      if (at < 0) {
        out += text.slice(i)
        break
      }
      out += text.slice(i, at)
      if (text[at + 1] === "$") {
        out += "$"
        i = at + 2
      } else if (text.startsWith(`{${secretsNamespace}.`, at + 1)) {
        const end = text.indexOf("}", at)
        const name = text.slice(at + 3 + secretsNamespace.length, end < 0 ? text.length : end)
        const found = end < 0 ? undefined : secret(name)
        if (found === undefined) {
          failure ??= {
            reference: `\${${secretsNamespace}.${name}}`,
            message: `\${${secretsNamespace}.${name}}: no secret '${name}' is configured (secrets.${name} in the ` +
              `configuration, or the environment variable GLEITZEIT_SECRET_${name})`
          }
          return text
        }
        if (!used.includes(found)) used.push(found)
        out += found
        i = end + 1
      } else {
        out += "$"
        i = at + 1
      }
    }
    return out
  }
  const visit = (v: Json): Json => {
    if (typeof v === "string") return visitString(v)
    if (Array.isArray(v)) return v.map(visit)
    if (JsonValue.isObject(v)) {
      const out: Record<string, Json> = {}
      for (const key in v) out[key] = visit(v[key]!)
      return out
    }
    return v
  }
  const resolved = visit(value)
  return failure === undefined ? Either.right({ value: resolved, used }) : Either.left(failure)
}
