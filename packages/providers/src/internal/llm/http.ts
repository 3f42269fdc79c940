/**
 * The undici plumbing shared by the LLM clients: one pooled agent per endpoint, requests aborted when their scope
 * closes, streamed bodies read line by line, and HTTP/connection failures mapped to `ProviderError` reasons.
 */
import { ProviderError } from "@gleitzeit/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Agent } from "undici"
import { errorCode, timeoutCodes } from "../transport.js"

/** The `provider` of every LLM error. */
export const providerId = "llm"

/** Builds an LLM `ProviderError`. */
export const fail = (method: string, reason: ProviderError.Reason, message: string, cause?: unknown) =>
  ProviderError.make({ provider: providerId, method, reason, message, cause })

/** One keep-alive agent for an endpoint, destroyed with the scope. */
export const agent = (connections: number) =>
  Effect.acquireRelease(
    Effect.sync(() => new Agent({ connections, keepAliveTimeout: 10_000, pipelining: 1 })),
    (a) => Effect.promise(() => a.destroy())
  )

/** An endpoint's connection data. */
export interface Endpoint {
  readonly agent: Agent
  /** Base URL without a trailing slash. */
  readonly url: string
  readonly apiKey?: Redacted.Redacted<string>
}

/** A response whose body is still to be read. */
export interface Response {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: AsyncIterable<Uint8Array> & { destroy: () => void }
}

/** Maps a transport failure: timeouts → Timeout, everything else about the connection → Unavailable. */
export const classify = (method: string, target: string, cause: unknown): ProviderError.ProviderError => {
  const code = errorCode(cause)
  const detail = cause instanceof Error ? cause.message : String(cause)
  return code !== undefined && timeoutCodes.has(code)
    ? fail(method, { _tag: "Timeout" }, `${target}: ${detail}`, cause)
    : fail(method, { _tag: "Unavailable" }, `${target} is unreachable (${code ?? "error"}): ${detail}`, cause)
}

/**
 * Sends a request; the response body belongs to the current scope: closing the scope (normally, on failure or on
 * interruption) aborts the request and destroys the body, so the server sees the socket close at once.
 */
export const request = (
  endpoint: Endpoint,
  method: string,
  options: { readonly verb: "GET" | "POST"; readonly path: string; readonly body?: unknown }
): Effect.Effect<Response, ProviderError.ProviderError, Scope.Scope> =>
  Effect.gen(function*() {
    const controller = yield* Effect.acquireRelease(
      Effect.sync(() => new AbortController()),
      (c) => Effect.sync(() => c.abort())
    )
    const url = new URL(`${endpoint.url}${options.path}`)
    const headers: Record<string, string> = { accept: "application/json, application/x-ndjson, text/event-stream" }
    if (options.body !== undefined) headers["content-type"] = "application/json"
    if (endpoint.apiKey !== undefined) headers.authorization = `Bearer ${Redacted.value(endpoint.apiKey)}`
    const target = `${options.verb} ${url.origin}${url.pathname}`
    const response = yield* Effect.tryPromise({
      try: () =>
        endpoint.agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: options.verb,
          headers,
          body: options.body === undefined ? null : JSON.stringify(options.body),
          signal: controller.signal
        }),
      catch: (cause) => classify(method, target, cause)
    })
    yield* Effect.addFinalizer(() => Effect.sync(() => response.body.destroy()))
    return { status: response.statusCode, headers: response.headers, body: response.body }
  })

/** Reads the whole body as text. */
export const text = (method: string, response: Response): Effect.Effect<string, ProviderError.ProviderError> =>
  Effect.tryPromise({
    try: async () => {
      const chunks: Array<Buffer> = []
      for await (const chunk of response.body) chunks.push(Buffer.from(chunk))
      return Buffer.concat(chunks).toString("utf8")
    },
    catch: (cause) => classify(method, "response body", cause)
  })

/** The body as a stream of lines (without line endings), failing on transport errors. */
export const lines = (method: string, response: Response): Stream.Stream<string, ProviderError.ProviderError> =>
  Stream.fromAsyncIterable(response.body, (cause) => classify(method, "response body", cause)).pipe(
    Stream.decodeText(),
    Stream.splitLines
  )

/** Parses JSON text and decodes it with a schema; anything unexpected is `BadResponse`. */
export const decodeJson = <A, I>(method: string, schema: Schema.Schema<A, I>, body: string, what: string) =>
  Effect.try({
    try: () => JSON.parse(body) as unknown,
    catch: (cause) => fail(method, { _tag: "BadResponse" }, `${what}: invalid JSON: ${body.slice(0, 200)}`, cause)
  }).pipe(
    Effect.flatMap((json) =>
      Schema.decodeUnknown(schema, { onExcessProperty: "ignore" })(json).pipe(
        Effect.mapError((error) => fail(method, { _tag: "BadResponse" }, `${what}: unexpected shape: ${error.message}`))
      )
    )
  )

/** Milliseconds of a `retry-after` header (seconds or an HTTP date), if any. */
export const retryAfterMs = (value: string | Array<string> | undefined, now: number): number | undefined => {
  const header = Array.isArray(value) ? value[0] : value
  if (header === undefined || header.trim() === "") return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Maps a non-2xx status: 404 → NotFound (unknown model), 429 → RateLimited with `retry-after`, 400/422 →
 * InvalidParams, others → HttpStatus (5xx retryable).
 */
export const statusError = (
  method: string,
  response: Response,
  message: string,
  now: number
): ProviderError.ProviderError => {
  switch (response.status) {
    case 404:
      return fail(method, { _tag: "NotFound" }, message)
    case 429: {
      const after = retryAfterMs(response.headers["retry-after"], now)
      const reason: ProviderError.Reason = after === undefined
        ? { _tag: "RateLimited" }
        : { _tag: "RateLimited", retryAfterMs: after }
      return fail(method, reason, message)
    }
    case 400:
    case 422:
      return fail(method, { _tag: "InvalidParams" }, message)
    default:
      return fail(method, { _tag: "HttpStatus", status: response.status }, message)
  }
}

/**
 * Requests to one endpoint: `send` fails on a non-2xx status with the message the server's error body carries
 * (`errorMessage` extracts it; the raw text is used when it does not decode), `readJson` decodes a JSON answer.
 */
export const requests = <I>(endpoint: Endpoint, errorMessage: Schema.Schema<string, I>) => {
  const send = (method: string, verb: "GET" | "POST", path: string, body?: unknown) =>
    Effect.gen(function*() {
      const response = yield* request(endpoint, method, { verb, path, ...(body === undefined ? {} : { body }) })
      if (response.status >= 200 && response.status < 300) return response
      const raw = yield* text(method, response)
      const parsed = yield* Effect.option(decodeJson(method, errorMessage, raw, "error body"))
      const detail = parsed._tag === "Some" ? parsed.value : raw.slice(0, 500)
      const now = yield* Clock.currentTimeMillis
      return yield* Effect.fail(
        statusError(method, response, `${endpoint.url}${path} answered ${response.status}: ${detail}`, now)
      )
    })
  const readJson = <A, J>(
    method: string,
    schema: Schema.Schema<A, J>,
    path: string,
    verb: "GET" | "POST",
    body?: unknown
  ) =>
    Effect.scoped(
      Effect.flatMap(send(method, verb, path, body), (response) =>
        Effect.flatMap(text(method, response), (body) => decodeJson(method, schema, body, path)))
    )
  return { send, readJson }
}
