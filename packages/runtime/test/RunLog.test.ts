import { assert, describe, it } from "@effect/vitest"
import { EventBus, Journal, RunLog } from "@gleitzeit/runtime"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { isEvent, nextEvent, type Runtime, setup, whenSleeping, workflow } from "./helpers.js"

const collect = (runtime: Runtime, runId: string, options: Parameters<typeof RunLog.events>[1]) =>
  Stream.runCollect(RunLog.events(runId, options)).pipe(
    Effect.map(Chunk.toReadonlyArray),
    Effect.provideService(Journal.Journal, runtime.journal),
    Effect.provideService(EventBus.EventBus, runtime.bus)
  )

describe("RunLog", () => {
  it.scoped("replays a finished run's events from the journal, from the start or after an offset", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "replay",
        tasks: [
          { id: "a", method: "fn/work", params: { key: "a" } },
          { id: "b", method: "fn/work", params: { key: "b" }, dependencies: ["a"] }
        ]
      })
      const outcome = yield* runtime.engine.execute(wf)
      const journaled = yield* runtime.journal.events(outcome.runId)
      assert.deepStrictEqual(yield* collect(runtime, outcome.runId, {}), journaled)
      assert.deepStrictEqual(yield* collect(runtime, outcome.runId, { afterSeq: 4 }), journaled.slice(4))
      // Following a run that already ended ends with its final event.
      assert.deepStrictEqual(yield* collect(runtime, outcome.runId, { follow: true }), journaled)
    }))

  it.scoped("follows a running run: replays what is journaled, then live events until the final one", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "follow",
        tasks: [
          { id: "first", method: "fn/work", params: { key: "first" } },
          { id: "held", method: "fn/work", params: { key: "held", wait: "held" }, dependencies: ["first"] },
          { id: "last", method: "fn/work", params: { key: "last" }, dependencies: ["held"] }
        ]
      })
      const subscription = yield* runtime.bus.subscribe
      const runId = yield* runtime.engine.submit(wf)
      yield* nextEvent(subscription, isEvent("TaskStarted", "held"))
      const before = yield* runtime.journal.events(runId)
      const fromStart = yield* Effect.fork(collect(runtime, runId, { follow: true }))
      const fromOffset = yield* Effect.fork(collect(runtime, runId, { follow: true, afterSeq: 2 }))
      // Both followers replayed the journal and are live: each polls the journal on the (test) clock, which never
      // advances here, so what follows reaches them through the bus.
      yield* whenSleeping(2)
      yield* probe.open("held")
      const all = yield* Fiber.join(fromStart)
      const tail = yield* Fiber.join(fromOffset)
      const journaled = yield* runtime.journal.events(runId)
      assert.isAbove(journaled.length, before.length)
      assert.deepStrictEqual(all, journaled)
      assert.deepStrictEqual(tail, journaled.slice(2))
      assert.strictEqual(all[all.length - 1]!._tag, "RunCompleted")
    }))

  it.scoped("following a finished run from its last offset ends at once", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, { name: "ended", tasks: [{ method: "fn/work", params: { key: "x" } }] })
      const outcome = yield* runtime.engine.execute(wf)
      const last = yield* runtime.journal.lastSeq(outcome.runId)
      assert.deepStrictEqual(yield* collect(runtime, outcome.runId, { follow: true, afterSeq: last }), [])
    }))
})
