/**
 * Batch workflows (`type: batch`): one task per file matched by `batch.directory` + `batch.pattern`, each built
 * from `template`. Expansion is pure: the caller lists the files.
 */
import type { Json, JsonObject } from "./Json.js"
import * as JsonValue from "./Json.js"

/** What a batch workflow asks for. */
export interface Spec {
  readonly directory: string
  readonly pattern: string
}

const taskKeys = new Set(["method", "params", "parameters", "timeout", "retry", "priority", "metadata", "protocol"])

/** The batch spec of a parsed document, or undefined when it is not a batch workflow. */
export const specOf = (doc: unknown): Spec | undefined => {
  if (!JsonValue.isObject(doc as Json)) return undefined
  const { batch, template, type } = doc as JsonObject
  // The predecessor's rule: `type: batch`, or a `batch` key on a workflow of no declared type.
  if (type !== "batch" && !(type === undefined && batch !== undefined)) return undefined
  if (!JsonValue.isObject(template ?? null)) return undefined
  if (!JsonValue.isObject(batch ?? null)) return undefined
  const { directory, pattern } = batch as JsonObject
  return typeof directory === "string" && directory !== "" && typeof pattern === "string" && pattern !== ""
    ? { directory, pattern }
    : undefined
}

/** The param that carries the file's path for a method: images for vision, `context.file_path` for Python. */
const withPath = (method: string, params: JsonObject, path: string): JsonObject => {
  if (method === "llm/vision") return { ...params, image_path: path }
  if (method.startsWith("python/")) {
    const context = JsonValue.isObject(params["context"] ?? null) ? params["context"] as JsonObject : {}
    return { ...params, context: { ...context, file_path: path } }
  }
  return { ...params, file_path: path }
}

/**
 * Expands a batch document into an ordinary workflow document: one task per file, `on_failure: continue` unless
 * the document says otherwise (one bad file does not stop the others). Keys of `template` that are not task keys
 * are params (the predecessor's `template: {method, model, prompt}` form).
 */
export const expand = (doc: JsonObject, files: ReadonlyArray<string>): JsonObject => {
  const template = JsonValue.isObject(doc["template"] ?? null) ? doc["template"] as JsonObject : {}
  const method = typeof template["method"] === "string" ? template["method"] : ""
  const explicit = JsonValue.isObject(template["params"] ?? null)
    ? template["params"] as JsonObject
    : JsonValue.isObject(template["parameters"] ?? null)
    ? template["parameters"] as JsonObject
    : {}
  const loose: Record<string, Json> = {}
  for (const [key, value] of Object.entries(template)) if (!taskKeys.has(key)) loose[key] = value
  const params = { ...loose, ...explicit }
  const extra: Record<string, Json> = {}
  for (const key of ["timeout", "retry", "priority", "metadata", "protocol"]) {
    if (template[key] !== undefined) extra[key] = template[key]!
  }
  const { batch: _batch, template: _template, type: _type, ...rest } = doc
  void _batch
  void _template
  void _type
  return {
    on_failure: "continue",
    ...rest,
    metadata: {
      ...(JsonValue.isObject(doc["metadata"] ?? null) ? doc["metadata"] as JsonObject : {}),
      batch: { ...(doc["batch"] as JsonObject), files: files.length }
    },
    tasks: files.map((file, i) => ({
      id: `file-${i + 1}`,
      name: file,
      method,
      params: withPath(method, params, file),
      ...extra
    }))
  }
}

/** A glob (`*`, `**`, `?`, `{a,b}`, `[abc]`) as a regular expression over `/`-separated relative paths. */
export const globToRegExp = (pattern: string): RegExp => {
  let out = ""
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        const slash = pattern[i + 2] === "/"
        out += slash ? "(?:.*/)?" : ".*"
        i += slash ? 2 : 1
      } else out += "[^/]*"
    } else if (c === "?") out += "[^/]"
    else if (c === "{") {
      const close = pattern.indexOf("}", i)
      if (close < 0) out += "\\{"
      else {
        out += `(?:${
          pattern.slice(i + 1, close).split(",").map((alt) => alt.replace(/[.+^$()|\\]/g, "\\$&")).join("|")
        })`
        i = close
      }
    } else if (c === "[") {
      const close = pattern.indexOf("]", i)
      if (close < 0) out += "\\["
      else {
        out += pattern.slice(i, close + 1)
        i = close
      }
    } else out += c.replace(/[.+^$()|\\]/g, "\\$&")
  }
  return new RegExp(`^${out}$`)
}
