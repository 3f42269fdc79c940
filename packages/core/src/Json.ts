/**
 * JSON values: what crosses the journal, the wire and provider boundaries.
 */
import * as Schema from "effect/Schema"

/** A JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** A JSON object. */
export type JsonObject = { readonly [key: string]: Json }

/** Schema of any JSON value (structurally checked on decode). */
export const Json: Schema.Schema<Json> = Schema.suspend(() =>
  Schema.Union(
    Schema.Null,
    Schema.Boolean,
    Schema.Number,
    Schema.String,
    Schema.Array(Json),
    Schema.Record({ key: Schema.String, value: Json })
  )
).annotations({ identifier: "Json" })

/** Schema of a JSON object. */
export const JsonObject: Schema.Schema<JsonObject> = Schema.Record({ key: Schema.String, value: Json }).annotations({
  identifier: "JsonObject"
})

/** True when the value is a plain JSON object (not an array, not null). */
export const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Renders a JSON value as text for interpolation: strings stay as they are, everything else is JSON. */
export const toText = (value: Json): string => typeof value === "string" ? value : JSON.stringify(value)
