/**
 * What the embedded engine and the cluster's run actors do alike with a journaled run: load it to resume, follow
 * it to its end, cancel it when no coordinator executes it.
 */
import { ErrorCode, Event, type Run, type Workflow, WorkflowError } from "@gleitzeit/core"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type { EventBus } from "../EventBus.js"
import type { Journal } from "../Journal.js"
import type * as Coordinator from "./coordinator.js"

type JournalService = typeof Journal.Service

/** A new run id: time-ordered (base-36 milliseconds), then random. */
export const newRunId = Effect.gen(function*() {
  const now = yield* Clock.currentTimeMillis
  const a = yield* Random.nextIntBetween(0, 2 ** 30)
  const b = yield* Random.nextIntBetween(0, 2 ** 30)
  return `${now.toString(36).padStart(9, "0")}${a.toString(36).padStart(6, "0")}${b.toString(36).padStart(6, "0")}`
})

/** Journals a new run (its tasks pending, its `RunSubmitted` event) owned by `owner`; returns its id. */
export const create = (
  journal: JournalService,
  workflow: Workflow.Workflow,
  owner: string,
  runId?: string,
  submittedBy?: string
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const id = runId ?? (yield* newRunId)
    const at = yield* Clock.currentTimeMillis
    yield* journal.createRun(
      { runId: id, workflow, createdAt: at, owner },
      {
        _tag: "RunSubmitted",
        runId: id,
        seq: 1,
        at,
        workflowId: workflow.id,
        name: workflow.name,
        taskCount: workflow.tasks.length,
        ...(submittedBy === undefined ? {} : { submittedBy })
      }
    )
    return id
  })

/** The outcome of a run as its record tells it. */
export const toOutcome = (record: Run.RunRecord): Coordinator.Outcome => ({
  runId: record.id,
  status: record.status,
  ...(record.outputs === undefined ? {} : { outputs: record.outputs }),
  ...(record.error === undefined ? {} : { error: record.error })
})

/** The error for a run id the journal does not know. */
export const notFound = (runId: string) =>
  new WorkflowError.RunNotFound({ runId, message: `no run '${runId}' in the journal` })

/** The error for a run in the wrong state for a request. */
export const invalid = (runId: string, status: string, message: string) =>
  new WorkflowError.InvalidRunState({ runId, status, message })

/** A run loaded from the journal: ended already, or ready to (re)start where it stopped. */
export type Loaded =
  | { readonly _tag: "Ended"; readonly outcome: Coordinator.Outcome }
  | { readonly _tag: "Start"; readonly start: Coordinator.Start }

/** Loads a run to start or resume: its workflow, the journaled task states and attempts, the next sequence. */
export const load = (journal: JournalService, runId: string): Effect.Effect<Loaded, WorkflowError.RunNotFound> =>
  Effect.gen(function*() {
    const found = yield* journal.load(runId)
    if (Option.isNone(found)) return yield* notFound(runId)
    const { lastSeq, record: run, workflow } = found.value
    if (run.status !== "pending" && run.status !== "running") {
      return { _tag: "Ended", outcome: toOutcome(run) } as const
    }
    // Only `RunSubmitted` so far: a first start, not a resume.
    if (lastSeq <= 1) {
      return { _tag: "Start", start: { runId, workflow, seq: lastSeq + 1, resumed: false } } as const
    }
    const tasks = yield* journal.tasks(runId)
    const attempts = yield* journal.attempts(runId)
    return {
      _tag: "Start",
      start: {
        runId,
        workflow,
        seq: lastSeq + 1,
        resumed: true,
        tasks,
        attempts,
        ...(run.startedAt === undefined ? {} : { startedAt: run.startedAt })
      }
    } as const
  })

/** Resumes every unfinished run that `resume` accepts; returns their ids. */
export const resumeAll = <E>(
  journal: JournalService,
  resume: (runId: string) => Effect.Effect<void, E>
): Effect.Effect<ReadonlyArray<string>> =>
  Effect.flatMap(
    journal.unfinished,
    (unfinished) => Effect.filter(unfinished.map((run) => run.id), (runId) => Effect.isSuccess(resume(runId)))
  )

/** How often the ends of many runs are looked up at once. */
const batchInterval = "100 millis"

/**
 * Waits for the ends of runs executing elsewhere, all at once: one query per interval for every run waited for
 * (instead of one per run), and at once when the given event bus carries a run's final event (Redis shares them).
 */
export const makeWaiter = (journal: JournalService, bus?: typeof EventBus.Service) =>
  Effect.gen(function*() {
    const waiting = new Map<string, Deferred.Deferred<Coordinator.Outcome>>()
    const wake = yield* Effect.makeLatch(false)
    const poll = Effect.gen(function*() {
      const ids = [...waiting.keys()]
      for (let i = 0; i < ids.length; i += 500) {
        for (const record of yield* journal.ended(ids.slice(i, i + 500))) {
          const deferred = waiting.get(record.id)
          waiting.delete(record.id)
          if (deferred !== undefined) yield* Deferred.succeed(deferred, toOutcome(record))
        }
      }
    })
    yield* Effect.forkScoped(Effect.forever(
      Effect.zipRight(
        Effect.raceFirst(Effect.sleep(batchInterval), wake.await),
        Effect.zipRight(wake.close, Effect.suspend(() => (waiting.size === 0 ? Effect.void : poll)))
      )
    ))
    if (bus !== undefined) {
      const events = yield* bus.subscribe
      yield* Effect.forkScoped(Effect.forever(
        Effect.flatMap(
          events.take,
          (event) => Event.isFinal(event) && waiting.has(event.runId) ? wake.open : Effect.void
        )
      ))
    }
    const register = (runId: string) =>
      Effect.suspend(() => {
        let deferred = waiting.get(runId)
        if (deferred === undefined) {
          deferred = Deferred.unsafeMake<Coordinator.Outcome>(FiberId.none)
          waiting.set(runId, deferred)
        }
        return Deferred.await(deferred)
      })
    /** Waits for a run's end; `known` skips the look-up of a run the caller knows exists (it just created it). */
    return (runId: string, known = false): Effect.Effect<Coordinator.Outcome, WorkflowError.RunNotFound> =>
      known ? register(runId) : Effect.flatMap(journal.run(runId), (record) => {
        if (Option.isNone(record)) return Effect.fail(notFound(runId))
        if (record.value.status !== "pending" && record.value.status !== "running") {
          return Effect.succeed(toOutcome(record.value))
        }
        return register(runId)
      })
  })

/**
 * Cancels a run that no coordinator executes (its process died, or its start was never delivered): its unfinished
 * tasks and the run are cancelled in the journal directly.
 */
export const cancelInJournal = (
  journal: JournalService,
  runId: string,
  reason: string,
  by?: string
): Effect.Effect<Coordinator.Outcome, WorkflowError.RunNotFound | WorkflowError.InvalidRunState> =>
  Effect.gen(function*() {
    const record = yield* journal.run(runId)
    if (Option.isNone(record)) return yield* notFound(runId)
    const run = record.value
    if (run.status !== "pending" && run.status !== "running") {
      return yield* invalid(runId, run.status, `run '${runId}' already ended (${run.status})`)
    }
    let seq = (yield* journal.lastSeq(runId)) + 1
    const at = yield* Clock.currentTimeMillis
    const tasks = yield* journal.tasks(runId)
    yield* journal.append([
      ...tasks
        .filter((t) => t.status === "pending" || t.status === "running")
        .map((t) => ({ _tag: "TaskCancelled" as const, runId, seq: seq++, at, taskId: t.taskId })),
      { _tag: "RunCancelled", runId, seq: seq++, at, reason, ...(by === undefined ? {} : { by }) }
    ])
    return { runId, status: "cancelled" as const, error: { code: ErrorCode.WorkflowCancelled, message: reason } }
  })
