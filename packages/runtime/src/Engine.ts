/**
 * The engine: submits, runs, waits for, cancels and resumes runs. Each run is a supervised coordinator fiber
 * (keyed by run id) whose task attempts are child fibers; everything it does is journaled first.
 */
import { type Json, type Run, Workflow, WorkflowError } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { EngineConfig } from "./EngineConfig.js"
import { Executor } from "./Executor.js"
import * as Coordinator from "./internal/coordinator.js"
import { Mailbox } from "./internal/mailbox.js"
import { isOtherLiveProcess } from "./internal/owner.js"
import * as Runs from "./internal/runs.js"
import { Journal } from "./Journal.js"
import { Scheduler } from "./Scheduler.js"

/** How a run ended. */
export interface Outcome {
  readonly runId: string
  readonly status: Run.RunStatus
  readonly outputs?: Json.Json
  readonly error?: Run.RunError
}

/** Options of `submit`. */
export interface SubmitOptions {
  /** Use this run id instead of a generated one (must be new). */
  readonly runId?: string
  /** Who submits it (an API key's name, never the key); journaled with the run. */
  readonly submittedBy?: string
}

/** The engine service. */
export class Engine extends Context.Tag("@gleitzeit/runtime/Engine")<Engine, {
  /** Journals a new run and starts it; returns its id once it is durable. */
  readonly submit: (workflow: Workflow.Workflow, options?: SubmitOptions) => Effect.Effect<string>
  /** Waits until a run has ended (in this process or any other sharing the journal). */
  readonly wait: (runId: string) => Effect.Effect<Outcome, WorkflowError.RunNotFound>
  /** Submits a run and waits for its end. */
  readonly execute: (workflow: Workflow.Workflow, options?: SubmitOptions) => Effect.Effect<Outcome>
  /** Cancels a run: running attempts are interrupted (their finalizers run), the rest is cancelled. */
  readonly cancel: (
    runId: string,
    reason?: string,
    by?: string
  ) => Effect.Effect<Outcome, WorkflowError.RunNotFound | WorkflowError.InvalidRunState>
  /** Resumes an unfinished run from the journal: completed tasks keep their results, the rest runs. */
  readonly resume: (runId: string) => Effect.Effect<void, WorkflowError.RunNotFound | WorkflowError.InvalidRunState>
  /** Resumes every unfinished run that no live process owns; returns their ids. */
  readonly recover: Effect.Effect<ReadonlyArray<string>>
  /** The ids of the runs executing in this process. */
  readonly active: () => ReadonlyArray<string>
}>() {}

/** Builds the engine. */
export const make = Effect.gen(function*() {
  const journal = yield* Journal
  const executor = yield* Executor
  const scheduler = yield* Scheduler
  const config = yield* EngineConfig
  // Runs executing in another process sharing the journal are waited for by reading the journal. (The in-process
  // bus carries no events of other processes: it is not watched, which keeps it off the hot path.)
  const awaitEnd = yield* Runs.makeWaiter(journal)
  const services: Coordinator.Services = { journal, executor, scheduler, config }
  // Coordinators live in the engine's scope: closing it (shutdown) interrupts them, which suspends their runs.
  const scope = yield* Effect.scope
  const active = new Map<
    string,
    { readonly mailbox: Mailbox<Coordinator.Message>; readonly done: Deferred.Deferred<Outcome> }
  >()

  const launch = (start: Coordinator.Start) =>
    Effect.gen(function*() {
      const mailbox = new Mailbox<Coordinator.Message>()
      const done = yield* Deferred.make<Outcome>()
      active.set(start.runId, { mailbox, done })
      yield* Effect.forkIn(
        Coordinator.run(services, start, mailbox).pipe(
          Effect.onExit((exit) =>
            Effect.zipRight(
              Effect.sync(() => active.delete(start.runId)),
              Deferred.done(done, exit)
            )
          ),
          Effect.annotateLogs({ runId: start.runId })
        ),
        scope
      )
    })

  const submit = (workflow: Workflow.Workflow, options: SubmitOptions = {}) =>
    Effect.gen(function*() {
      const runId = yield* Runs.create(journal, workflow, config.node, options.runId, options.submittedBy)
      yield* launch({ runId, workflow, seq: 2, resumed: false })
      return runId
    })

  const wait = (runId: string): Effect.Effect<Outcome, WorkflowError.RunNotFound> =>
    Effect.suspend(() => {
      const here = active.get(runId)
      return here === undefined ? awaitEnd(runId) : Deferred.await(here.done)
    })

  const cancel = (runId: string, reason = "cancelled by request", by?: string) =>
    Effect.suspend(() => {
      const here = active.get(runId)
      if (here !== undefined) {
        return Effect.zipRight(
          Effect.sync(() => here.mailbox.offer({ _tag: "Cancel", reason, by })),
          Deferred.await(here.done)
        )
      }
      return Effect.gen(function*() {
        const owner = yield* journal.owner(runId)
        if (Option.isSome(owner) && isOtherLiveProcess(owner.value)) {
          const status = Option.match(yield* journal.run(runId), { onNone: () => "running", onSome: (r) => r.status })
          return yield* Runs.invalid(
            runId,
            status,
            `run '${runId}' is executing in process ${owner.value}; cancel it there`
          )
        }
        // An orphaned run (its process died): cancel it in the journal directly.
        return yield* Runs.cancelInJournal(journal, runId, reason, by)
      })
    })

  const resume = (runId: string) =>
    Effect.gen(function*() {
      if (active.has(runId)) return yield* Runs.invalid(runId, "running", `run '${runId}' is already executing here`)
      const loaded = yield* Runs.load(journal, runId)
      if (loaded._tag === "Ended") {
        const status = loaded.outcome.status
        return yield* Runs.invalid(runId, status, `run '${runId}' already ended (${status}); nothing to resume`)
      }
      const owner = yield* journal.owner(runId)
      if (Option.isSome(owner) && isOtherLiveProcess(owner.value)) {
        return yield* Runs.invalid(runId, "running", `run '${runId}' is still executing in process ${owner.value}`)
      }
      yield* journal.setOwner(runId, config.node)
      yield* launch({ ...loaded.start, resumed: true })
    })

  const recover = Runs.resumeAll(journal, resume)

  return Engine.of({
    submit,
    wait,
    execute: (workflow, options) => Effect.flatMap(submit(workflow, options), (runId) => Effect.orDie(wait(runId))),
    cancel,
    resume,
    recover,
    active: () => [...active.keys()]
  })
})

/** The engine (needs a journal, an executor, a scheduler and its config). */
export const layer: Layer.Layer<
  Engine,
  never,
  Journal | Executor | Scheduler | EngineConfig
> = Layer.scoped(Engine, make)

/** Decodes a workflow from its journaled JSON form. */
export const decodeWorkflow = Workflow.decode
