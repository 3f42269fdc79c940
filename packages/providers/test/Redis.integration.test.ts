/**
 * The Redis-backed fast state on a real Redis (127.0.0.1:6379 by default, `GLEITZEIT_TEST_REDIS_URL` to override):
 * connecting, the shared rate limits and the shared response cache. Two connections on one key prefix stand for two
 * nodes; each test uses its own prefix and deletes its keys at the end.
 */
import { assert, describe, it } from "@effect/vitest"
import { RateLimiter, Redis, ResponseCache } from "@gleitzeit/providers"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { createServer, type Socket } from "node:net"
import { requireRedis, twoNodes } from "./redisHelpers.js"

requireRedis()

const limits = (entries: Record<string, RateLimiter.Limit>): ReadonlyMap<string, RateLimiter.Limit> =>
  new Map(Object.entries(entries))

/** A Redis limiter on `node`, built through the `Backend` layer providers read. */
const limiterOn = (
  node: Redis.Redis["Type"],
  entries: Record<string, RateLimiter.Limit>,
  options: RateLimiter.RedisOptions = {}
) =>
  Effect.flatMap(RateLimiter.Backend, (backend) => backend.make(limits(entries))).pipe(
    Effect.provide(RateLimiter.layerRedis(options).pipe(Layer.provide(Layer.succeed(Redis.Redis, node))))
  )

/**
 * Whether a forked reservation is still waiting: resolves once the fiber is done (false) or parked on the test
 * clock (true). A reservation waits on Redis between its checks, so this waits for that answer, never for time.
 * Only the reservation under test may sleep on the test clock when this is called.
 */
const parked = <A, E>(fiber: Fiber.RuntimeFiber<A, E>): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    while (true) {
      if (Option.isSome(yield* Fiber.poll(fiber))) return false
      if (Chunk.isNonEmpty(yield* TestClock.sleeps())) return true
      yield* Effect.yieldNow()
    }
  })

/** A port nothing listens on. */
const closedPort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** A TCP server that accepts connections and never answers, closed with the scope. */
const silentServer = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly close: () => void }>((resume) => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => sockets.add(socket))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({
        port,
        close: () => {
          for (const socket of sockets) socket.destroy()
          server.close()
        }
      }))
    })
  }),
  (server) => Effect.sync(server.close)
)

const field = (node: Redis.Redis["Type"], key: string, name: string) =>
  Effect.map(node.use("hget", (c) => c.hget(node.key(key), name)), (value) => Number(value))

const pttl = (node: Redis.Redis["Type"], key: string) => node.use("pttl", (c) => c.pttl(node.key(key)))

describe("Redis", () => {
  it.live("an unreachable server fails the layer at once with RedisUnavailable naming Redis and the URL", () =>
    Effect.gen(function*() {
      const badUrl = `redis://127.0.0.1:${yield* closedPort}`
      const layer = Redis.layer({ url: badUrl, connectAttempts: 2 })
      const error = yield* Layer.build(layer).pipe(Effect.scoped, Effect.flip)
      assert.strictEqual(error._tag, "RedisUnavailable")
      assert.include(error.message, "Redis")
      assert.include(error.message, badUrl)
      assert.strictEqual(error.url, badUrl)
    }))

  it.scopedLive("a server that accepts but never answers fails with RedisUnavailable after the command timeout", () =>
    Effect.gen(function*() {
      const server = yield* silentServer
      const badUrl = `redis://127.0.0.1:${server.port}`
      const layer = Redis.layer({ url: badUrl, connectAttempts: 1, commandTimeout: "200 millis" })
      const error = yield* Layer.build(layer).pipe(Effect.scoped, Effect.flip)
      assert.strictEqual(error._tag, "RedisUnavailable")
      assert.include(error.message, `Redis at ${badUrl}`)
    }))
})

describe("RateLimiter on Redis", () => {
  it.scoped("two nodes share one budget: after A takes a 2/min key's requests, B waits 30 s for the refill", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoNodes
      const onA = yield* limiterOn(a, { "model:m": { requestsPerMinute: 2 } })
      const onB = yield* limiterOn(b, { "model:m": { requestsPerMinute: 2 } })
      yield* onA.reserve(["model:m"], 0)
      yield* onA.reserve(["model:m"], 0)
      const third = yield* Effect.fork(onB.reserve(["model:m"], 0))
      assert.isTrue(yield* parked(third), "A took the whole budget")
      yield* TestClock.adjust("29 seconds")
      assert.isTrue(yield* parked(third), "one request refills in 30 s")
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* parked(third), "the refilled request was taken")
    }))

  it.scoped("settling with fewer tokens refunds them to the shared bucket; the other node's waiter takes them", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoNodes
      const onA = yield* limiterOn(a, { "endpoint:e": { tokensPerMinute: 1000 } })
      const onB = yield* limiterOn(b, { "endpoint:e": { tokensPerMinute: 1000 } })
      const permit = yield* onA.reserve(["endpoint:e"], 800)
      assert.strictEqual(yield* field(a, "ratelimit:endpoint:e", "tokens"), 200)
      const second = yield* Effect.fork(onB.reserve(["endpoint:e"], 500))
      assert.isTrue(yield* parked(second), "only 200 tokens left")
      yield* permit.settle(100)
      assert.strictEqual(yield* field(a, "ratelimit:endpoint:e", "tokens"), 900, "700 tokens refunded")
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* parked(second), "the waiter re-checked within a second and took 500")
      assert.isBelow(yield* field(a, "ratelimit:endpoint:e", "tokens"), 500)
    }))

  it.scoped("using more tokens than reserved is debt every node waits for", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoNodes
      const onA = yield* limiterOn(a, { "model:m": { tokensPerMinute: 600 } })
      const onB = yield* limiterOn(b, { "model:m": { tokensPerMinute: 600 } })
      const permit = yield* onA.reserve(["model:m"], 100)
      yield* permit.settle(1100)
      const next = yield* Effect.fork(onB.reserve(["model:m"], 100))
      yield* TestClock.adjust("59 seconds")
      assert.isTrue(yield* parked(next), "500 tokens of debt plus 100 need 60 s at 10 tokens/s")
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* parked(next))
    }))

  it.scoped("a 429's block on one node holds the key on every node until it ends; other keys are free", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoNodes
      const onA = yield* limiterOn(a, {})
      const onB = yield* limiterOn(b, {})
      yield* onA.block("endpoint:a", 2000)
      const free = yield* Effect.fork(onB.reserve(["model:x", "endpoint:b"], 10))
      assert.isFalse(yield* parked(free), "endpoint:b is not blocked")
      const blocked = yield* Effect.fork(onB.reserve(["model:x", "endpoint:a"], 10))
      assert.isTrue(yield* parked(blocked))
      yield* TestClock.adjust("2 seconds")
      assert.isFalse(yield* parked(blocked))
    }))

  it.scoped("buckets expire once idle and full again; a block keeps its key for as long as it lasts", () =>
    Effect.gen(function*() {
      const { a } = yield* twoNodes
      const limiter = yield* limiterOn(a, { "model:m": { requestsPerMinute: 2 } }, { idleTtl: "10 seconds" })
      yield* limiter.reserve(["model:m", "endpoint:e"], 0)
      const unlimited = yield* pttl(a, "ratelimit:endpoint:e")
      assert.isTrue(unlimited > 0 && unlimited <= 10_000, `idle TTL on an unlimited key: ${unlimited} ms`)
      const refilling = yield* pttl(a, "ratelimit:model:m")
      assert.isTrue(refilling > 10_000 && refilling <= 30_000, `half a 2/min bucket refills in 30 s: ${refilling} ms`)
      yield* limiter.block("endpoint:e", 600_000)
      const blocked = yield* pttl(a, "ratelimit:endpoint:e")
      assert.isTrue(blocked > 590_000 && blocked <= 600_000, `a 10 min block: ${blocked} ms`)
    }))
})

describe("ResponseCache on Redis", () => {
  it.scoped("answers round-trip as JSON and are shared by every node on the prefix; unknown keys miss", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoNodes
      const onA = yield* Effect.provideService(ResponseCache.makeRedis(), Redis.Redis, a)
      const onB = yield* ResponseCache.ResponseCache.pipe(
        Effect.provide(ResponseCache.layerRedis().pipe(Layer.provide(Layer.succeed(Redis.Redis, b))))
      )
      const key = ResponseCache.key("llama3", { prompt: "hi", temperature: 0 })
      const answer = { text: "hello", tokens: [1, 2.5, null], nested: { ok: true } }
      yield* onA.set(key, answer)
      assert.deepStrictEqual(yield* onB.get(key), Option.some(answer))
      assert.deepStrictEqual(yield* onB.get(ResponseCache.key("llama3", { prompt: "other" })), Option.none())
    }))

  it.scoped("each answer expires after ttlSeconds", () =>
    Effect.gen(function*() {
      const { a } = yield* twoNodes
      const cache = yield* Effect.provideService(ResponseCache.makeRedis({ ttlSeconds: 90 }), Redis.Redis, a)
      const key = ResponseCache.key("m", { prompt: "p" })
      yield* cache.set(key, "answer")
      const ttl = yield* pttl(a, `cache:${key}`)
      assert.isTrue(ttl > 80_000 && ttl <= 90_000, `TTL ${ttl} ms`)
    }))
})
