/**
 * `http/v1`: plain HTTP requests as tasks.
 */
import * as Schema from "effect/Schema"
import { Json } from "./Json.js"
import * as Protocol from "./Protocol.js"

/** HTTP verbs (case-insensitive on input). */
export const Verb = Schema.transform(
  Schema.String,
  Schema.Literal("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"),
  { strict: false, decode: (s) => s.toUpperCase(), encode: (s) => s }
)

/** Params of `http/request`. `timeout` is in seconds. */
export const RequestParams = Schema.Struct({
  method: Schema.optionalWith(Verb, { default: () => "GET" as const }),
  url: Schema.String.pipe(
    Schema.filter((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), {
      message: () => "must be an absolute http(s) URL"
    })
  ),
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  query: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number) })),
  body: Schema.optional(Schema.String),
  json: Schema.optional(Json),
  /** Seconds, at most a day. */
  timeout: Schema.optional(Schema.Positive.pipe(Schema.lessThanOrEqualTo(86400)))
}).pipe(
  Schema.filter((p) => !(p.body !== undefined && p.json !== undefined) || "give either 'body' or 'json', not both")
)

/** Params of `http/request`. */
export type RequestParams = typeof RequestParams.Type

/** Result of `http/request`: `body` is decoded JSON when the response is JSON, text otherwise. */
export const RequestResult = Schema.Struct({
  status: Schema.Number,
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  body: Json
})

/** Result of `http/request`. */
export type RequestResult = typeof RequestResult.Type

/** The `http/v1` protocol. */
export const spec = Protocol.make("http/v1", [
  Protocol.method({
    name: "http/request",
    protocol: "http/v1",
    description: "Send an HTTP request; non-2xx statuses fail (5xx and connection errors are retryable)",
    params: RequestParams,
    result: RequestResult
  })
])
