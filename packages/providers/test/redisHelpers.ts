/**
 * Shared helpers of the Redis tests: the server (127.0.0.1:6379 by default, `GLEITZEIT_TEST_REDIS_URL` to
 * override), a check that fails every test naming Redis when it is not reachable, and connections ("nodes") on a
 * fresh key prefix whose keys are deleted when the test's scope closes.
 */
import { beforeAll } from "@effect/vitest"
import { Redis } from "@gleitzeit/providers"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Scope from "effect/Scope"
import { randomUUID } from "node:crypto"

/** The test server's URL. */
export const url = process.env["GLEITZEIT_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** Fails the file's tests, naming Redis and its URL, when the server is not reachable. */
export const requireRedis = () =>
  beforeAll(async () => {
    const exit = await Effect.runPromiseExit(Effect.scoped(Redis.make({ url, connectAttempts: 1 })))
    if (Exit.isFailure(exit)) {
      throw new Error(
        `Redis at ${url} is not reachable (start it: scripts/setup-test-infra.sh): ${Cause.pretty(exit.cause)}`
      )
    }
  })

/** Two connections ("nodes") on a fresh key prefix; every key under it is deleted when the test's scope closes. */
export const twoNodes: Effect.Effect<
  { readonly a: Redis.Redis["Type"]; readonly b: Redis.Redis["Type"] },
  Redis.RedisUnavailable,
  Scope.Scope
> = Effect.gen(function*() {
  const keyPrefix = `gz-test-${randomUUID()}:`
  const a = yield* Redis.make({ url, keyPrefix })
  const b = yield* Redis.make({ url, keyPrefix })
  yield* Effect.addFinalizer(() =>
    a.use("cleanup", async (client) => {
      const keys = await client.keys(`${keyPrefix}*`)
      if (keys.length > 0) await client.del(...keys)
    }).pipe(Effect.orDie)
  )
  return { a, b }
})
