/**
 * The API's outermost middleware: body size cap (413), request time limit, and every failure rendered as a
 * problem document (`application/problem+json`) — typed errors as they are, the library's request-decoding
 * failures as `BadRequest`, unknown routes as `NotFound`, defects as `Internal` (logged, never shown).
 */
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as FileSystem from "@effect/platform/FileSystem"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { ApiError, ErrorCode } from "@gleitzeit/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { IncomingMessage } from "node:http"
import type { Settings } from "../../ApiConfig.js"

const isApiError = Schema.is(ApiError.ApiError)
const encode = Schema.encodeSync(ApiError.ApiError)

/** Routes that answer slowly by design (event streams, long polls): they bound their own time. */
const longRoute = /^\/v1\/runs\/[^/?]+\/(events|result)(\?|$)/

/** The response for a problem, with the headers its kind calls for. */
export const respond = (problem: ApiError.ApiError): HttpServerResponse.HttpServerResponse => {
  const headers: Record<string, string> = {}
  if (problem._tag === "Unauthorized") headers["www-authenticate"] = `Bearer realm="gleitzeit"`
  if (problem._tag === "RateLimited") headers["retry-after"] = String(problem.retryAfterSeconds)
  if (problem._tag === "Unavailable" && problem.retryAfterSeconds !== undefined) {
    headers["retry-after"] = String(problem.retryAfterSeconds)
  }
  return HttpServerResponse.unsafeJson(encode(problem), {
    status: problem.status,
    contentType: ApiError.contentType,
    headers
  })
}

const pathOf = (path: ReadonlyArray<PropertyKey>) => path.map(String).join(".")

/** A failure reading the request (its body too large, not JSON). */
const requestProblem = (error: HttpServerError.RequestError, limit: number): ApiError.ApiError => {
  const cause = error.cause instanceof Error ? error.cause.message : String(error.cause)
  if (cause.includes("maxBytes")) return ApiError.payloadTooLarge(limit)
  if (error.cause instanceof SyntaxError) return ApiError.badRequest(`the request body is not valid JSON: ${cause}`)
  return ApiError.badRequest(`the request could not be read: ${cause}`)
}

/** The problem a failed request answers with, or `undefined` when the client went away. */
const problemOf = (cause: Cause.Cause<unknown>, request: HttpServerRequest.HttpServerRequest, limit: number) => {
  const failure = Cause.failureOption(cause)
  const error: unknown = Option.isSome(failure) ? failure.value : Cause.squash(cause)
  if (isApiError(error)) return error
  if (error instanceof HttpApiDecodeError) {
    const issues = error.issues.map((issue) => ({ path: pathOf(issue.path), message: issue.message }))
    // An optional value that is present but wrong also fails as "not undefined": say only what is wrong.
    const telling = issues.filter((issue) =>
      !(issue.message.startsWith("Expected undefined") && issues.some((i) => i !== issue && i.path === issue.path))
    )
    return ApiError.badRequest(
      `the request does not match the API (see /openapi.json): ${
        telling.map((i) => `${i.path === "" ? "" : `${i.path}: `}${i.message}`).join("; ")
      }`,
      telling
    )
  }
  if (HttpServerError.isServerError(error)) {
    if (error._tag === "RouteNotFound") return ApiError.notFound(request.method, request.url.split("?")[0]!)
    if (error._tag === "RequestError") return requestProblem(error, limit)
  }
  return undefined
}

/**
 * Reads a body of undeclared length (chunked) up to `limit` bytes, leaving the connection usable: `undefined` when
 * it is longer (the rest is not read). (The platform's own limit destroys the socket, so no 413 could be sent.)
 */
const readBounded = (source: IncomingMessage, limit: number) =>
  Effect.async<Buffer | undefined, HttpServerError.RequestError>((resume) => {
    const chunks: Array<Buffer> = []
    let bytes = 0
    const cleanup = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= limit) return void chunks.push(chunk)
      cleanup()
      source.pause()
      resume(Effect.succeed(undefined))
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks)))
    }
    const onError = (cause: Error) => {
      cleanup()
      resume(Effect.die(cause))
    }
    source.on("data", onData)
    source.once("end", onEnd)
    source.once("error", onError)
    return Effect.sync(cleanup)
  })

/** The request, its body already read into `body`. */
const withBody = (request: HttpServerRequest.HttpServerRequest, body: Buffer): HttpServerRequest.HttpServerRequest => {
  const text = body.toString("utf8")
  return Object.create(request, {
    text: { get: () => Effect.succeed(text) },
    json: {
      get: () =>
        Effect.try({
          try: () => (text === "" ? null : JSON.parse(text)) as unknown,
          catch: (cause) => new HttpServerError.RequestError({ request, reason: "Decode", cause })
        })
    },
    arrayBuffer: {
      get: () => Effect.succeed(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer)
    }
  }) as HttpServerRequest.HttpServerRequest
}

/** Serves a request whose body is within the limit: time-bounded, every failure rendered as a problem. */
const serve = (settings: Settings, app: HttpApp.Default, request: HttpServerRequest.HttpServerRequest) => {
  // The server runs requests uninterruptibly except inside the route's handler: the time limit must be able to
  // interrupt what it bounds.
  const bounded: HttpApp.Default<ApiError.Unavailable> = longRoute.test(request.url) ?
    app :
    Effect.interruptible(app).pipe(
      Effect.timeoutFail({
        duration: settings.requestTimeoutMs,
        onTimeout: () =>
          ApiError.unavailable(
            `the request took longer than the server allows (${settings.requestTimeoutMs} ms)`,
            ErrorCode.RequestTimeout,
            1
          )
      })
    )
  return bounded.pipe(
    HttpIncomingMessage.withMaxBodySize(Option.some(FileSystem.Size(settings.maxBodyBytes))),
    Effect.catchAllCause((cause) => {
      // The client went away: nothing to answer (an interruption-only cause holds no failure).
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const problem = problemOf(cause, request, settings.maxBodyBytes)
      if (problem !== undefined) return Effect.succeed(respond(problem))
      return Effect.as(
        Effect.logError(`API: ${request.method} ${request.url} failed`, cause),
        respond(ApiError.internal("the server failed unexpectedly; the failure is in its log"))
      )
    })
  )
}

/** The outermost middleware of the API. */
export const middleware = (settings: Settings) => (app: HttpApp.Default): HttpApp.Default =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const tooLarge = () =>
      // The rest of the body is not read: the connection ends with this answer.
      HttpServerResponse.setHeader(respond(ApiError.payloadTooLarge(settings.maxBodyBytes)), "connection", "close")
    const length = request.headers["content-length"]
    if (length !== undefined) {
      return Number(length) > settings.maxBodyBytes ? tooLarge() : yield* serve(settings, app, request)
    }
    if (request.headers["transfer-encoding"] === undefined) return yield* serve(settings, app, request)
    // A body of undeclared length is read here, up to the limit, so that a longer one can still be answered.
    const body = yield* readBounded(NodeHttpServerRequest.toIncomingMessage(request), settings.maxBodyBytes).pipe(
      Effect.orDie
    )
    if (body === undefined) return tooLarge()
    const buffered = withBody(request, body)
    return yield* Effect.provideService(serve(settings, app, buffered), HttpServerRequest.HttpServerRequest, buffered)
  })
