/**
 * The API's outermost middleware on its own: a request that takes longer than the limit is answered with a 503
 * problem (on TestClock), even though the server runs requests uninterruptibly outside the route's handler.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { assert, describe, it } from "@effect/vitest"
import { ApiConfig } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Problems from "../src/internal/api/problems.js"

const settings = { ...ApiConfig.defaults, requestTimeoutMs: 1_000 }

const request = (path: string) => HttpServerRequest.fromWeb(new Request(`http://127.0.0.1${path}`))

describe("the API's problems middleware", () => {
  it.effect("answers a request that outlives the time limit with 503, Retry-After and the RequestTimeout code", () =>
    Effect.gen(function*() {
      // The handler never answers; the server runs the whole app uninterruptibly, as NodeHttpServer does.
      const app = Problems.middleware(settings)(Effect.never)
      const fiber = yield* Effect.fork(
        Effect.uninterruptible(Effect.provideService(app, HttpServerRequest.HttpServerRequest, request("/v1/runs")))
      )
      yield* TestClock.adjust("1001 millis")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 503)
      assert.strictEqual(response.headers["retry-after"], "1")
      assert.strictEqual(response.headers["content-type"], "application/problem+json")
    }))

  it.effect("does not bound event streams and long polls", () =>
    Effect.gen(function*() {
      const app = Problems.middleware(settings)(Effect.as(Effect.sleep("5 seconds"), HttpServerResponse.text("late")))
      const fiber = yield* Effect.fork(
        Effect.provideService(app, HttpServerRequest.HttpServerRequest, request("/v1/runs/r1/events?after=3"))
      )
      yield* TestClock.adjust("5 seconds")
      const response = yield* Fiber.join(fiber)
      assert.strictEqual(response.status, 200)
    }))
})
