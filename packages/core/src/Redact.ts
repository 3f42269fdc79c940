/**
 * Keeps credentials out of what Gleitzeit prints and returns. `text` is the one redaction applied to every output
 * of the CLI (and the API): the password of a URL (`https://user:pass@host` → `https://user:***@host`), the values of
 * secret-looking query and form keys (`?api_key=…` → `?api_key=***`), secret-looking JSON fields
 * (`"authorization": "…"`) and `Authorization:` header lines. `values` replaces known secret values wherever they
 * occur (the secrets an attempt used, in its result and error).
 */
import type { Json } from "./Json.js"
import * as JsonValue from "./Json.js"

/** What redacted text reads as. */
export const mask = "***"

/** Names of query keys, fields and headers whose values are credentials. */
const secretKey = "(?:api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|" +
  "secret|client[_-]?secret|password|passwd|pwd|passphrase|signature|sig|x-api-key|x-amz-signature|" +
  "x-amz-credential|x-amz-security-token|authorization|proxy-authorization|private[_-]?key|session[_-]?id)"

/** `scheme://user:password@` (the password is masked) or `scheme://token@` (all of it is). */
const userinfo = /\b([a-z][a-z0-9+.-]*:\/\/)(?:([^\s/?#@"'<>:]*):)?[^\s/?#@"'<>]+@/gi

/** `?key=value` / `&key=value` / `;key=value` for secret-looking keys. */
const queryPair = new RegExp(`([?&;](?:${secretKey}|code)=)[^&;#\\s"'<>]*`, "gi")

/** `"key": "value"` (JSON, also escaped inside JSON strings) for secret-looking keys. */
const jsonField = new RegExp(`((\\\\?)"${secretKey}\\2"\\s*:\\s*\\2")(?:\\\\.|[^"\\\\])*?(\\2")`, "gi")

/** `Authorization: Bearer …` in plain text (headers printed as lines). */
const headerLine = /\b((?:proxy-)?authorization\s*[:=]\s*)(?:(?:bearer|basic|token|digest)\s+)?[^\s,;"']+/gi

/** Redacts URL passwords, secret-looking query keys, JSON fields and authorization headers in a text. */
export const text = (input: string): string => {
  if (input.length === 0) return input
  let out = input
  if (out.includes("@")) {
    out = out.replace(
      userinfo,
      (_, scheme: string, user: string | undefined) => `${scheme}${user === undefined ? "" : `${user}:`}${mask}@`
    )
  }
  if (out.includes("=")) out = out.replace(queryPair, `$1${mask}`)
  if (out.includes("\"")) out = out.replace(jsonField, `$1${mask}$3`)
  if (/authorization/i.test(out)) out = out.replace(headerLine, `$1${mask}`)
  return out
}

/** Shortest secret value that `values` replaces (shorter ones would mask ordinary text). */
export const minSecretLength = 4

/** Replaces every occurrence of the given secret values inside the strings of a JSON value with `***`. */
export const values = (value: Json, secrets: ReadonlyArray<string>): Json => {
  const known = secrets.filter((s) => s.length >= minSecretLength).sort((a, b) => b.length - a.length)
  if (known.length === 0) return value
  const inText = (s: string): string =>
    known.reduce((acc, secret) => acc.includes(secret) ? acc.replaceAll(secret, mask) : acc, s)
  const visit = (v: Json): Json => {
    if (typeof v === "string") return inText(v)
    if (Array.isArray(v)) return v.map(visit)
    if (JsonValue.isObject(v)) {
      const out: Record<string, Json> = {}
      for (const key in v) out[inText(key)] = visit(v[key]!)
      return out
    }
    return v
  }
  return visit(value)
}

/** `values` over one text. */
export const valuesInText = (input: string, secrets: ReadonlyArray<string>): string => {
  const scrubbed = values(input, secrets)
  return typeof scrubbed === "string" ? scrubbed : input
}
