import { assert, describe, it } from "@effect/vitest"
import { ProviderError } from "@gleitzeit/core"
import { FnProvider } from "@gleitzeit/providers"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { call, ctx } from "./helpers.js"

describe("FnProvider", () => {
  it.effect("serves each function as fn/<name> under the fn/v1 protocol", () =>
    Effect.sync(() => {
      const provider = FnProvider.provider([
        FnProvider.sync("one", () => 1),
        FnProvider.sync("two", () => 2, { description: "returns two", idempotent: true })
      ])
      assert.strictEqual(provider.id, "fn")
      assert.strictEqual(provider.spec.id, "fn/v1")
      assert.deepStrictEqual(
        provider.spec.methods.map((m) => [m.name, m.protocol]),
        [["fn/one", "fn/v1"], ["fn/two", "fn/v1"]]
      )
      assert.strictEqual(provider.spec.methods[1]!.description, "returns two")
      assert.isTrue(provider.spec.methods[1]!.idempotent)
    }))

  it.effect("passes decoded params and the call context to the handler and returns its result", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const provider = FnProvider.provider([
        FnProvider.make(
          "scale",
          (p, c) =>
            Effect.sync(() => {
              seen.push(c)
              return { value: p.x * p.k }
            }),
          { params: Schema.Struct({ x: Schema.Number, k: Schema.NumberFromString }) }
        )
      ])
      assert.deepStrictEqual(yield* call(provider, "fn/scale", { x: 3, k: "4" }), { value: 12 })
      assert.deepStrictEqual(seen, [ctx])
    }))

  it.effect("a plain function's exception is a failed call (ExecutionFailed, not retryable)", () =>
    Effect.gen(function*() {
      const provider = FnProvider.provider([
        FnProvider.sync("boom", () => {
          throw new Error("no luck")
        })
      ])
      const error = yield* Effect.flip(call(provider, "fn/boom", {}))
      assert.instanceOf(error, ProviderError.ProviderError)
      assert.strictEqual(error.reason._tag, "ExecutionFailed")
      assert.isFalse(error.retryable)
      assert.include(error.message, "no luck")
      assert.strictEqual(error.method, "fn/boom")
    }))

  it.effect("a rejected promise is a failed call (ExecutionFailed)", () =>
    Effect.gen(function*() {
      const provider = FnProvider.provider([
        FnProvider.promise("reject", () => Promise.reject(new Error("rejected")))
      ])
      const error = yield* Effect.flip(call(provider, "fn/reject", {}))
      assert.strictEqual(error.reason._tag, "ExecutionFailed")
      assert.include(error.message, "rejected")
    }))

  it.effect("a promise function gets a signal that aborts when the call is interrupted", () =>
    Effect.gen(function*() {
      const started = yield* Deferred.make<AbortSignal>()
      const provider = FnProvider.provider([
        FnProvider.promise("wait", (_, signal) => {
          Deferred.unsafeDone(started, Effect.succeed(signal))
          return new Promise(() => {})
        })
      ])
      const fiber = yield* Effect.fork(call(provider, "fn/wait", {}))
      const signal = yield* Deferred.await(started)
      assert.isFalse(signal.aborted)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(signal.aborted)
    }))

  it.effect("a typed ProviderError of a handler passes through unchanged, with its retry verdict", () =>
    Effect.gen(function*() {
      const failure = ProviderError.make({
        provider: "fn",
        method: "fn/busy",
        reason: { _tag: "RateLimited", retryAfterMs: 500 },
        message: "slow down"
      })
      const provider = FnProvider.provider([FnProvider.make("busy", () => Effect.fail(failure))])
      const error = yield* Effect.flip(call(provider, "fn/busy", {}))
      assert.strictEqual(error, failure)
      assert.isTrue(error.retryable)
    }))

  it.effect("a method the provider does not have fails with NotFound", () =>
    Effect.gen(function*() {
      const provider = FnProvider.provider([FnProvider.sync("one", () => 1)])
      const other = FnProvider.sync("other", () => 2).spec
      const error = yield* Effect.flip(provider.execute(other, {}, ctx))
      assert.strictEqual(error.reason._tag, "NotFound")
    }))
})
