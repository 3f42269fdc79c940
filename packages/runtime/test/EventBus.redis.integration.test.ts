/**
 * The event bus shared through a real Redis (127.0.0.1:6379 by default, `GLEITZEIT_TEST_REDIS_URL` to override).
 * Two bus layers on one key prefix stand for two processes; each test uses its own prefix and deletes its keys.
 * Tests wait for the events they expect (Queue.take), never for time.
 */
import { assert, beforeAll, describe, it } from "@effect/vitest"
import type { Event } from "@gleitzeit/core"
import { Redis } from "@gleitzeit/providers"
import { EventBus } from "@gleitzeit/runtime"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import { randomUUID } from "node:crypto"

const url = process.env["GLEITZEIT_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

beforeAll(async () => {
  const exit = await Effect.runPromiseExit(Effect.scoped(Redis.make({ url, connectAttempts: 1 })))
  if (Exit.isFailure(exit)) {
    throw new Error(
      `Redis at ${url} is not reachable (start it: scripts/setup-test-infra.sh): ${Cause.pretty(exit.cause)}`
    )
  }
})

/** A fresh key prefix whose keys are deleted when the test's scope closes. */
const freshPrefix = Effect.gen(function*() {
  const keyPrefix = `gz-test-${randomUUID()}:`
  const admin = yield* Redis.make({ url, keyPrefix })
  yield* Effect.addFinalizer(() =>
    admin.use("cleanup", async (client) => {
      const keys = await client.keys(`${keyPrefix}*`)
      if (keys.length > 0) await client.del(...keys)
    }).pipe(Effect.orDie)
  )
  return keyPrefix
})

/** One "process": its own Redis connection and Redis-backed bus on `keyPrefix`. */
const processOn = (keyPrefix: string) =>
  Effect.map(
    Layer.build(EventBus.layerRedis.pipe(Layer.provideMerge(Redis.layer({ url, keyPrefix })))),
    (context) => ({ bus: Context.get(context, EventBus.EventBus), redis: Context.get(context, Redis.Redis) })
  )

const output = (runId: string, seq: number): Event.Event => ({
  _tag: "TaskOutput",
  runId,
  seq,
  at: 1_700_000_000_000 + seq,
  taskId: "t",
  attempt: 1,
  stream: "log",
  text: `${runId} #${seq}`
})

const completed = (runId: string, seq: number): Event.Event => ({
  _tag: "TaskCompleted",
  runId,
  seq,
  at: 1_700_000_000_000 + seq,
  taskId: "t",
  attempt: 1,
  result: { answer: [1, "two", null, { ok: true }] },
  durationMs: 12.5
})

/** Takes exactly `n` events. */
const take = (queue: Queue.Dequeue<Event.Event>, n: number) => Effect.map(Queue.takeN(queue, n), Chunk.toArray)

const ofRun = (events: ReadonlyArray<Event.Event>, runId: string) => events.filter((e) => e.runId === runId)

describe("EventBus on Redis", () => {
  it.scoped("every process sees every process's events, in order per publisher, each exactly once", () =>
    Effect.gen(function*() {
      const keyPrefix = yield* freshPrefix
      const a = yield* processOn(keyPrefix)
      const b = yield* processOn(keyPrefix)
      const onA = yield* a.bus.subscribe
      const onB = yield* b.bus.subscribe
      const fromA = [output("a", 1), completed("a", 2), output("a", 3)]
      const fromB = [output("b", 1), output("b", 2), completed("b", 3)]

      yield* a.bus.publish(fromA.slice(0, 2))
      yield* b.bus.publish(fromB.slice(0, 1))
      yield* a.bus.publish(fromA.slice(2))
      yield* b.bus.publish(fromB.slice(1))

      for (const seen of [yield* take(onB, 6), yield* take(onA, 6)]) {
        assert.deepStrictEqual(ofRun(seen, "a"), fromA)
        assert.deepStrictEqual(ofRun(seen, "b"), fromB)
      }

      // Each side has received the other's batches, so Redis has handled every PUBLISH above: a copy of a process's
      // own batch coming back to it would arrive before the other process's marker published now.
      const markerA = output("marker-a", 1)
      const markerB = output("marker-b", 1)
      yield* a.bus.publish([markerA])
      yield* b.bus.publish([markerB])
      for (const seen of [yield* take(onA, 2), yield* take(onB, 2)]) {
        assert.deepStrictEqual(ofRun(seen, "marker-a"), [markerA], "nothing but the markers follows")
        assert.deepStrictEqual(ofRun(seen, "marker-b"), [markerB], "nothing but the markers follows")
      }
    }))

  it.scoped("a subscription only receives events published after it was taken", () =>
    Effect.gen(function*() {
      const keyPrefix = yield* freshPrefix
      const a = yield* processOn(keyPrefix)
      const b = yield* processOn(keyPrefix)
      const early = yield* b.bus.subscribe
      yield* a.bus.publish([output("before", 1)])
      assert.deepStrictEqual(yield* take(early, 1), [output("before", 1)])
      const late = yield* b.bus.subscribe
      yield* a.bus.publish([output("after", 1)])
      assert.deepStrictEqual(yield* take(late, 1), [output("after", 1)])
      assert.deepStrictEqual(yield* take(early, 1), [output("after", 1)])
    }))

  it.scoped("when Redis is gone, publishing does not fail and local subscribers still get every event", () =>
    Effect.gen(function*() {
      const keyPrefix = yield* freshPrefix
      const warnings = yield* Queue.unbounded<string>()
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel._tag === "Warning") Queue.unsafeOffer(warnings, String(message))
      })
      const a = yield* processOn(keyPrefix).pipe(Effect.provide(Logger.add(logger)))
      const onA = yield* a.bus.subscribe
      yield* Effect.sync(() => a.redis.client.disconnect())
      const events = [output("offline", 1), output("offline", 2)]
      yield* a.bus.publish(events)
      assert.deepStrictEqual(yield* take(onA, 2), events)
      const warning = yield* Queue.take(warnings).pipe(Effect.repeat({ until: (w) => w.includes("event bus") }))
      assert.include(warning, "2 events not shared through Redis")
    }))
})
