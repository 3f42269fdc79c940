/**
 * `http/request` over undici, through one pooled agent per provider (keep-alive, no session per request).
 * Non-2xx statuses are typed failures carrying status and body (retryable for 5xx, 408 and 429); connection
 * errors are `Unavailable`; interruption aborts the request.
 */
import { HttpProtocol, type Json, ProviderError } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Agent, type Dispatcher, interceptors } from "undici"
import { errorCode, timeoutCodes } from "./internal/transport.js"
import { healthy, type Provider } from "./Provider.js"
import * as ProviderRegistry from "./ProviderRegistry.js"

/** Settings of the HTTP provider. */
export class HttpConfig extends Context.Tag("@gleitzeit/providers/HttpConfig")<HttpConfig, {
  /** Requests without a `timeout` param give up after this long. */
  readonly defaultTimeout: Duration.Duration
  /** Largest response body read, in bytes. */
  readonly maxResponseBytes: number
  /** Connections kept per origin. */
  readonly connectionsPerOrigin: number
  /** Redirects followed (0 disables). */
  readonly maxRedirections: number
}>() {
  /** The defaults: 30 s, 10 MiB, 32 connections, 5 redirects. */
  static readonly defaults = {
    defaultTimeout: Duration.seconds(30),
    maxResponseBytes: 10 * 1024 * 1024,
    connectionsPerOrigin: 32,
    maxRedirections: 5
  }
  /** A layer with the defaults overridden by `partial`. */
  static readonly layer = (partial: Partial<Context.Tag.Service<HttpConfig>> = {}) =>
    Layer.succeed(HttpConfig, { ...HttpConfig.defaults, ...partial })
}

const method = "http/request"

const fail = (reason: ProviderError.Reason, message: string, cause?: unknown) =>
  ProviderError.make({ provider: "http", method, reason, message, cause })

class TooLarge {
  constructor(readonly limit: number) {}
}

const classify = (url: string, cause: unknown): ProviderError.ProviderError => {
  if (cause instanceof TooLarge) {
    return fail({ _tag: "TooLarge", limitBytes: cause.limit }, `response of ${url} exceeds ${cause.limit} bytes`)
  }
  const code = errorCode(cause)
  const detail = cause instanceof Error ? cause.message : String(cause)
  if (code !== undefined && timeoutCodes.has(code)) return fail({ _tag: "Timeout" }, `${url}: ${detail}`, cause)
  switch (code) {
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EPIPE":
    case "UND_ERR_SOCKET":
    case "UND_ERR_CLOSED":
      return fail({ _tag: "Unavailable" }, `${url} is unreachable (${code}): ${detail}`, cause)
    default:
      return fail({ _tag: "Internal" }, `${url}: ${detail}`, cause)
  }
}

const flattenHeaders = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

/** Builds the provider, with its agent scoped to the layer. */
export const make = Effect.gen(function*() {
  const config = yield* HttpConfig
  const agent = yield* Effect.acquireRelease(
    Effect.sync(() => new Agent({ connections: config.connectionsPerOrigin, keepAliveTimeout: 10_000 })),
    (a) => Effect.promise(() => a.destroy())
  )
  const dispatcher: Dispatcher = config.maxRedirections > 0
    ? agent.compose(interceptors.redirect({ maxRedirections: config.maxRedirections }))
    : agent

  const send = (p: HttpProtocol.RequestParams) => {
    const url = new URL(p.url)
    for (const [key, value] of Object.entries(p.query ?? {})) url.searchParams.append(key, String(value))
    const headers: Record<string, string> = { ...p.headers }
    let body: string | undefined = p.body
    if (p.json !== undefined) {
      body = JSON.stringify(p.json)
      if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
        headers["content-type"] = "application/json"
      }
    }
    const target = url.toString()
    const timeout = p.timeout === undefined ? config.defaultTimeout : Duration.seconds(p.timeout)
    return Effect.tryPromise({
      try: async (signal) => {
        const response = await dispatcher.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: p.method,
          headers,
          body: body ?? null,
          signal
        })
        const chunks: Array<Buffer> = []
        let size = 0
        for await (const chunk of response.body) {
          size += (chunk as Buffer).length
          if (size > config.maxResponseBytes) {
            response.body.destroy()
            throw new TooLarge(config.maxResponseBytes)
          }
          chunks.push(chunk as Buffer)
        }
        return {
          status: response.statusCode,
          headers: flattenHeaders(response.headers),
          text: Buffer.concat(chunks).toString("utf8")
        }
      },
      catch: (cause) => classify(target, cause)
    }).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => fail({ _tag: "Timeout" }, `${target} did not answer within ${Duration.format(timeout)}`)
      }),
      Effect.flatMap((response) => {
        const isJson = /\bjson\b|\+json/i.test(response.headers["content-type"] ?? "")
        let decoded: Json.Json = response.text
        if (isJson && response.text.trim() !== "") {
          try {
            decoded = JSON.parse(response.text) as Json.Json
          } catch (cause) {
            if (response.status >= 200 && response.status < 300) {
              return Effect.fail(fail({ _tag: "BadResponse" }, `${target} sent invalid JSON: ${String(cause)}`))
            }
          }
        }
        if (response.status < 200 || response.status >= 300) {
          return Effect.fail(
            fail(
              { _tag: "HttpStatus", status: response.status, body: decoded },
              `${p.method} ${target} answered ${response.status}`
            )
          )
        }
        return Effect.succeed<Json.Json>({ status: response.status, headers: response.headers, body: decoded })
      })
    )
  }

  const provider: Provider = {
    id: "http",
    spec: HttpProtocol.spec,
    execute: (_method, params) => send(params as HttpProtocol.RequestParams),
    health: Effect.succeed(healthy)
  }
  return provider
})

/** Registers the HTTP provider (needs `HttpConfig`). */
export const layer: Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | HttpConfig> = ProviderRegistry
  .register(make)
