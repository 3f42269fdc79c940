/**
 * Authentication, scopes and per-key rate limits: the implementations of the API's access middlewares. Without
 * configured keys (loopback only) every request is served as an anonymous caller with every scope.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Api, ApiError } from "@gleitzeit/core"
import { RateLimiter } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { ApiConfig } from "../../ApiConfig.js"
import * as ApiKeys from "../../ApiKeys.js"

const anonymous: Api.Caller["Type"] = { key: undefined, scopes: ["read", "submit", "admin"] }

const bearer = /^Bearer[ \t]+([^\s]+)[ \t]*$/i

/** The rate-limit bucket of a key. */
const bucket = (name: string) => `api:${name}`

/**
 * The implementations of `Api.ReadAccess` and `Api.SubmitAccess`: a request's key is checked for the scope, and
 * one request is taken from the key's rate limit (shared by both, and by every node when a Redis backend is given).
 */
export const layer = Layer.unwrapEffect(Effect.gen(function*() {
  const settings = yield* ApiConfig
  const backend = yield* Effect.serviceOption(RateLimiter.Backend)
  const limits = new Map(
    settings.requestsPerMinute > 0
      ? settings.keys.map((key) => [bucket(key.name), { requestsPerMinute: settings.requestsPerMinute }] as const)
      : []
  )
  const limiter = yield* Option.match(backend, {
    onNone: () => RateLimiter.make(limits),
    onSome: (b) => b.make(limits)
  })
  const check = (scope: Api.Scope) =>
    Effect.gen(function*() {
      if (settings.keys.length === 0) return anonymous
      const request = yield* HttpServerRequest.HttpServerRequest
      const header = request.headers["authorization"]
      if (header === undefined) return yield* ApiError.unauthorized("send an API key as `Authorization: Bearer <key>`")
      const match = bearer.exec(header)
      if (match === null) return yield* ApiError.unauthorized("the Authorization header must be `Bearer <key>`")
      const key = ApiKeys.authenticate(settings.keys, match[1]!)
      if (Option.isNone(key)) return yield* ApiError.unauthorized("this API key is not known to the server")
      if (!Api.grants(key.value.scopes, scope)) return yield* ApiError.missingScope(key.value.name, scope)
      const wait = yield* limiter.tryReserve([bucket(key.value.name)], 0)
      if (wait > 0) return yield* ApiError.rateLimited(key.value.name, Math.max(1, Math.ceil(wait / 1000)))
      return { key: key.value.name, scopes: key.value.scopes }
    })
  const read = check("read")
  const submit = check("submit")
  return Layer.mergeAll(
    Layer.succeed(Api.ReadAccess, Api.ReadAccess.of({ bearer: () => read })),
    Layer.succeed(Api.SubmitAccess, Api.SubmitAccess.of({ bearer: () => submit }))
  )
}))
