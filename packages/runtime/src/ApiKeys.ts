/**
 * API keys. A key is 32 random bytes shown once when it is created (`gzk_…`); the configuration stores only its
 * SHA-256 hash, its name and its scopes. A presented key is hashed and compared with every configured hash in
 * constant time, so neither the comparison nor the number of keys tried reveals which bytes matched.
 */
import { Api } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"

/** What every key starts with (so a leaked one is recognizable, e.g. by secret scanners). */
export const prefix = "gzk_"

/** A configured key: its name, the hash of the key and its scopes. */
export class Key extends Schema.Class<Key>("@gleitzeit/ApiKey")({
  name: Schema.String.pipe(Schema.pattern(/^[\w.@-]{1,64}$/)),
  hash: Schema.String.pipe(Schema.pattern(/^sha256:[0-9a-f]{64}$/)),
  scopes: Schema.NonEmptyArray(Api.Scope)
}) {}

/** Decodes the `api.keys` list of the configuration. */
export const decodeKeys = Schema.decodeUnknown(Schema.Array(Key))

/** The stored form of a key: `sha256:<hex>`. */
export const hash = (key: string): string => `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`

/** A new key for `name` with `scopes`: the key (to show once) and what the configuration stores. */
export const generate = (name: string, scopes: ReadonlyArray<Api.Scope>) =>
  Effect.sync(() => {
    const key = `${prefix}${randomBytes(32).toString("base64url")}`
    const [first, ...rest] = [...new Set(scopes)]
    return { key, entry: new Key({ name, hash: hash(key), scopes: [first ?? "read", ...rest] }) }
  })

/**
 * The configured key matching a presented one. Every configured hash is compared (in constant time each), whatever
 * matched, so the time taken does not depend on which key, or which bytes, matched.
 */
export const authenticate = (keys: ReadonlyArray<Key>, presented: string): Option.Option<Key> => {
  const digest = Buffer.from(hash(presented), "utf8")
  let found: Key | undefined
  for (const key of keys) {
    const stored = Buffer.from(key.hash, "utf8")
    const equal = stored.length === digest.length && timingSafeEqual(stored, digest)
    if (equal && found === undefined) found = key
  }
  return Option.fromNullable(found)
}
