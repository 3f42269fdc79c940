import { assert, describe, it } from "@effect/vitest"
import { Event } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as TestClock from "effect/TestClock"
import { isEvent, nextEvent, reasonTag, type Runtime, setup, tasksById, whenSleeping, workflow } from "./helpers.js"

const runRecord = (runtime: Runtime, runId: string) => Effect.map(runtime.journal.run(runId), Option.getOrThrow)

const attemptsOf = (runtime: Runtime, runId: string) =>
  Effect.map(runtime.journal.attempts(runId), (attempts) => attempts.map((a) => [a.taskId, a.attempt, a.status]))

const assertGapless = (events: ReadonlyArray<Event.Event>) =>
  assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))

describe("Journal", () => {
  it.scoped("journals every event of a run with a gapless increasing seq, from RunSubmitted to the final event", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const make = (name: string) =>
        workflow(runtime, {
          name,
          tasks: [
            { id: "a", method: "fn/work", params: { key: `${name}-a` } },
            { id: "b", method: "fn/work", params: { key: `${name}-b` } },
            { id: "c", method: "fn/work", params: { key: `${name}-c` }, dependencies: ["a", "b"] }
          ]
        })
      const workflows = [yield* make("one"), yield* make("two"), yield* make("three")]
      const outcomes = yield* Effect.forEach(workflows, (wf) => runtime.engine.execute(wf), {
        concurrency: "unbounded"
      })
      for (const outcome of outcomes) {
        const events = yield* runtime.journal.events(outcome.runId)
        assertGapless(events)
        assert.strictEqual(events[0]!._tag, "RunSubmitted")
        assert.strictEqual(events[1]!._tag, "RunStarted")
        assert.strictEqual(events[events.length - 1]!._tag, "RunCompleted")
        assert.isTrue(events.every((e) => e.runId === outcome.runId))
        assert.deepStrictEqual(
          events.filter((e) => e._tag === "TaskCompleted").map((e) => "taskId" in e ? e.taskId : "").slice(-1),
          ["c"]
        )
        assert.strictEqual(yield* runtime.journal.lastSeq(outcome.runId), events.length)
        assert.deepStrictEqual(yield* runtime.journal.events(outcome.runId, 3), events.slice(3))
      }
    }))

  it.scoped("the run, task and attempt projections follow every transition", () =>
    Effect.gen(function*() {
      const { probe, runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "projections",
        tasks: [
          { id: "held", method: "fn/work", params: { key: "held", wait: "held", value: { n: 1 } } },
          {
            id: "flaky",
            method: "fn/fail",
            params: { key: "flaky", reason: "Unavailable", failures: 1 },
            retry: { max_attempts: 2, backoff: "fixed", base_delay: 10, jitter: false }
          },
          { id: "last", method: "fn/work", params: { key: "last", value: "${held.n}" }, dependencies: ["flaky"] }
        ],
        outputs: { n: "${last}" }
      })
      const events = yield* runtime.bus.subscribe
      const runId = yield* runtime.engine.submit(wf)

      // Checkpoint: `held` runs, `flaky` failed its first attempt and waits 10 s to retry, `last` waits.
      yield* nextEvent(events, isEvent("TaskAttemptFailed", "flaky"))
      yield* probe.started("held")
      yield* whenSleeping(1)
      yield* runtime.journal.flush
      const running = yield* runRecord(runtime, runId)
      assert.strictEqual(running.status, "running")
      assert.strictEqual(running.startedAt, 0)
      assert.isUndefined(running.finishedAt)
      assert.strictEqual(running.taskCount, 3)
      let tasks = yield* tasksById(runtime, runId)
      assert.deepStrictEqual(
        [...tasks.values()].map((t) => [t.taskId, t.status, t.attempts]),
        [["held", "running", 1], ["flaky", "running", 1], ["last", "pending", 0]]
      )
      assert.deepStrictEqual(yield* attemptsOf(runtime, runId), [["flaky", 1, "failed"], ["held", 1, "running"]])
      const [firstFlaky] = yield* runtime.journal.attempts(runId)
      assert.strictEqual(reasonTag(firstFlaky!.error), "Unavailable")

      yield* TestClock.adjust("10 seconds")
      yield* nextEvent(events, isEvent("TaskCompleted", "flaky"))
      yield* probe.open("held")
      yield* nextEvent(events, isEvent("RunCompleted"))

      const done = yield* runRecord(runtime, runId)
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.finishedAt, 10_000)
      assert.deepStrictEqual(done.outputs, { n: 1 })
      assert.isUndefined(done.error)
      tasks = yield* tasksById(runtime, runId)
      assert.deepStrictEqual(
        [...tasks.values()].map((t) => [t.taskId, t.status, t.attempts, t.result]),
        [["held", "completed", 1, { n: 1 }], ["flaky", "completed", 2, { calls: 2 }], ["last", "completed", 1, 1]]
      )
      assert.strictEqual(tasks.get("flaky")!.startedAt, 0)
      assert.strictEqual(tasks.get("flaky")!.finishedAt, 10_000)
      assert.deepStrictEqual(yield* attemptsOf(runtime, runId), [
        ["flaky", 1, "failed"],
        ["flaky", 2, "completed"],
        ["held", 1, "completed"],
        ["last", 1, "completed"]
      ])
      for (const attempt of yield* runtime.journal.attempts(runId)) {
        assert.strictEqual(attempt.idempotencyKey, `${runId}/${attempt.taskId}`)
        assert.strictEqual(attempt.node, runtime.config.node)
        if (attempt.status === "completed") assert.strictEqual(attempt.provider, "fn")
      }
      assert.deepStrictEqual((yield* runtime.journal.runs({ status: "completed" })).map((r) => r.id), [runId])
      assert.deepStrictEqual(yield* runtime.journal.unfinished, [])
    }))

  it.scoped("publishes an event on the bus only once it is in the journal", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "published",
        on_failure: "continue",
        tasks: [
          ...Array.from({ length: 6 }, (_, i) => ({ id: `w${i}`, method: "fn/work", params: { key: `w${i}` } })),
          {
            id: "flaky",
            method: "fn/fail",
            params: { key: "flaky", reason: "Unavailable", failures: 2 },
            retry: { max_attempts: 3, backoff: "fixed", base_delay: 0, jitter: false }
          },
          { id: "broken", method: "fn/fail", params: { key: "broken", reason: "ExecutionFailed" } },
          { id: "skipped", method: "fn/work", params: { key: "skipped" }, dependencies: ["broken"] },
          { id: "join", method: "fn/work", params: { key: "join" }, dependencies: ["w0", "w5", "flaky"] }
        ]
      })
      const subscription = yield* runtime.bus.subscribe
      const runId = yield* runtime.engine.submit(wf)
      const received: Array<Event.Event> = []
      for (;;) {
        const event = yield* Queue.take(subscription)
        if (event.runId !== runId) continue
        received.push(event)
        // Checked the moment it arrives, while the run goes on.
        const stored = yield* runtime.journal.events(runId, event.seq - 1)
        assert.deepStrictEqual(stored[0], event, `event ${event.seq} (${event._tag}) was published before journaling`)
        if (Event.isFinal(event)) break
      }
      assertGapless(received)
      assert.deepStrictEqual(received, yield* runtime.journal.events(runId))
      const tags = new Set(received.map((e) => e._tag))
      const expected: ReadonlyArray<Event.Tag> = [
        "RunSubmitted",
        "RunStarted",
        "TaskStarted",
        "TaskAttemptFailed",
        "TaskCompleted",
        "TaskFailed",
        "TaskSkipped",
        "RunFailed"
      ]
      for (const tag of expected) {
        assert.isTrue(tags.has(tag), `no ${tag} was published`)
      }
    }))

  it.scoped("output a task emits while it runs is journaled between its start and its completion, in order", () =>
    Effect.gen(function*() {
      const { runtime } = yield* setup()
      const wf = yield* workflow(runtime, {
        name: "output",
        tasks: [{ id: "talk", method: "fn/emit", params: { lines: ["one", "two", "three"] } }]
      })
      const subscription = yield* runtime.bus.subscribe
      const fiber = yield* Effect.fork(runtime.engine.execute(wf))
      const published: Array<string> = []
      for (;;) {
        const event = yield* Queue.take(subscription)
        if (event._tag === "TaskOutput") published.push(event.text)
        if (Event.isFinal(event)) break
      }
      const outcome = yield* Fiber.join(fiber)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(published, ["one", "two", "three"])
      const events = yield* runtime.journal.events(outcome.runId)
      assertGapless(events)
      const tags = events
        .filter((e) => "taskId" in e)
        .map((e) => e._tag === "TaskOutput" ? `${e.stream}:${e.text}` : e._tag)
      assert.deepStrictEqual(tags, ["TaskStarted", "log:one", "log:two", "log:three", "TaskCompleted"])
    }))
})
