/**
 * Runs in a cluster. Submitting journals the run, then sends the persisted `Start` message of its `WorkflowRun`
 * entity; the node owning the entity's shard runs the same coordinator as embedded mode, with attempts dispatched to
 * task workers. When that node dies, the unanswered `Start` is redelivered to the shard's next owner, which resumes
 * the run from the journal. Cancel is a message to the run's entity, so it reaches the node executing the run, whose
 * coordinator interrupts the attempts wherever they run.
 */
import * as Entity from "@effect/cluster/Entity"
import type { Sharding } from "@effect/cluster/Sharding"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Workflow, WorkflowError } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { WorkflowRun } from "./ClusterEntities.js"
import { Engine, type Outcome, type SubmitOptions } from "./Engine.js"
import { EngineConfig } from "./EngineConfig.js"
import { EventBus } from "./EventBus.js"
import { Executor } from "./Executor.js"
import * as Coordinator from "./internal/coordinator.js"
import { Mailbox } from "./internal/mailbox.js"
import * as Runs from "./internal/runs.js"
import { Journal } from "./Journal.js"
import { Scheduler } from "./Scheduler.js"

interface Hosted {
  readonly mailbox: Mailbox<Coordinator.Message>
  /** The run's outcome (never completed when the run was handed over). */
  readonly done: Deferred.Deferred<Outcome, WorkflowError.RunNotFound>
  /** Completed when the coordinator stopped, for whatever reason. */
  readonly stopped: Deferred.Deferred<void>
}

/** The runs whose coordinators execute on this node, the attempts its workers execute, whether it is draining. */
export class LocalRuns extends Context.Tag("@gleitzeit/runtime/ClusterRuns/LocalRuns")<LocalRuns, {
  readonly runs: Map<string, Hosted>
  /** Attempts executing in this node's task workers. */
  attempts: number
  /** Replies of this node's task workers still streaming back. */
  replies: number
  draining: boolean
}>() {
  /** An empty registry. */
  static readonly layer: Layer.Layer<LocalRuns> = Layer.sync(
    LocalRuns,
    () => ({ runs: new Map(), attempts: 0, replies: 0, draining: false })
  )
}

/**
 * Drains this node: its coordinators start nothing more, wait for their attempts in flight, then hand their runs
 * over (they resume on the node that owns their shard next); its task workers refuse new attempts and finish those
 * they have. Bounded by `timeout`; what still runs then is interrupted when the node shuts down, and runs again
 * elsewhere.
 */
export const drain = (timeout: Duration.DurationInput) =>
  Effect.gen(function*() {
    const local = yield* LocalRuns
    local.draining = true
    const hosted = [...local.runs.values()]
    for (const run of hosted) run.mailbox.offer({ _tag: "Drain" })
    yield* Effect.logInfo(`draining: handing over ${hosted.length} run(s)`)
    const idle = (count: () => number) =>
      Effect.repeat(Effect.sync(count), { until: (n) => n === 0, schedule: Schedule.spaced("50 millis") })
    // Replies are given a moment to reach their coordinators once the attempts are done.
    const workersIdle = Effect.zipRight(
      idle(() => local.attempts),
      Effect.ignore(Effect.timeout(idle(() => local.replies), "2 seconds"))
    )
    // A drain runs as a finalizer, which is uninterruptible: the wait must be made interruptible for the
    // deadline to cut it short.
    const finished = yield* Effect.forEach(hosted, (run) => Deferred.await(run.stopped), { discard: true }).pipe(
      Effect.zipRight(workersIdle),
      Effect.interruptible,
      Effect.timeout(timeout),
      Effect.isSuccess
    )
    if (!finished) {
      const left = (yield* Effect.filter(hosted, (run) => Effect.map(Deferred.isDone(run.stopped), (done) => !done)))
        .length
      yield* Effect.logWarning(
        `drain deadline reached: ${left} run(s) and ${local.attempts} attempt(s) still active; they are interrupted and resume elsewhere`
      )
    }
  })

/** The `WorkflowRun` entities hosted by this node. */
export const layerRunActors: Layer.Layer<
  never,
  never,
  Sharding | Journal | Executor | Scheduler | EngineConfig | LocalRuns
> = WorkflowRun.toLayer(
  Effect.gen(function*() {
    const runId: string = (yield* Entity.CurrentAddress).entityId
    const journal = yield* Journal
    const config = yield* EngineConfig
    const local = yield* LocalRuns
    const services: Coordinator.Services = { journal, executor: yield* Executor, scheduler: yield* Scheduler, config }

    const host = Effect.gen(function*() {
      const existing = local.runs.get(runId)
      // A second `Start` (an explicit resume) of a run executing here: answer when it ends.
      if (existing !== undefined) return yield* Deferred.await(existing.done)
      // A draining node takes on no run: left unanswered, the message goes to the shard's next owner.
      if (local.draining) return yield* Effect.never
      const hosted: Hosted = {
        mailbox: new Mailbox(),
        done: yield* Deferred.make<Outcome, WorkflowError.RunNotFound>(),
        stopped: yield* Deferred.make<void>()
      }
      local.runs.set(runId, hosted)
      const exit = yield* Effect.gen(function*() {
        const loaded = yield* Runs.load(journal, runId)
        if (loaded._tag === "Ended") return loaded.outcome
        // Owning the run's shard makes this node its owner; the journal learns it with the run's `RunStarted`.
        return yield* Coordinator.run(services, { ...loaded.start, owner: config.node }, hosted.mailbox)
      }).pipe(
        Effect.ensuring(
          Effect.zipRight(Effect.sync(() => local.runs.delete(runId)), Deferred.succeed(hosted.stopped, void 0))
        ),
        Effect.annotateLogs({ runId, node: config.node }),
        Effect.exit
      )
      // Drained (the coordinator suspended itself): stay unanswered until the node shuts down, so the message is
      // delivered again to the shard's next owner, which resumes the run.
      if (Exit.isInterrupted(exit)) return yield* Effect.never
      yield* Deferred.done(hosted.done, exit)
      return yield* exit
    })

    return {
      Start: () => host,
      Cancel: ({ payload }) =>
        Effect.suspend(() => {
          const here = local.runs.get(runId)
          if (here === undefined) return Runs.cancelInJournal(journal, runId, payload.reason, payload.by)
          here.mailbox.offer({ _tag: "Cancel", reason: payload.reason, by: payload.by })
          return Deferred.await(here.done)
        })
    }
  }),
  // `Cancel` must reach a run while its `Start` is being handled.
  { concurrency: "unbounded" }
)

/**
 * The engine of a cluster member, node or client: the same service as embedded mode, with runs executing wherever
 * the cluster places them.
 */
export const makeEngine = Effect.gen(function*() {
  const journal = yield* Journal
  const config = yield* EngineConfig
  const runs = yield* WorkflowRun.client
  const local = yield* Effect.serviceOption(LocalRuns)
  const awaitEnd = yield* Runs.makeWaiter(journal, yield* EventBus)
  // Runs submitted by this engine and not waited for yet (bounded: the oldest are forgotten).
  const submitted = new Set<string>()
  const hosted = (runId: string) => local._tag === "Some" ? local.value.runs.get(runId) : undefined

  const start = (runId: string, generation: number) =>
    runs(runId).Start({ runId, generation }, { discard: true }).pipe(Effect.orDie)

  const submit = (workflow: Workflow.Workflow, options: SubmitOptions = {}) =>
    Effect.gen(function*() {
      const runId = yield* Runs.create(journal, workflow, config.node, options.runId, options.submittedBy)
      submitted.add(runId)
      if (submitted.size > 10_000) submitted.delete(submitted.values().next().value!)
      yield* start(runId, 0)
      return runId
    })

  const wait = (runId: string): Effect.Effect<Outcome, WorkflowError.RunNotFound> =>
    Effect.suspend(() => {
      const here = hosted(runId)
      if (here !== undefined) return Deferred.await(here.done)
      // A run submitted here exists: no need to look it up first.
      const known = submitted.delete(runId)
      return awaitEnd(runId, known)
    })

  const cancel = (runId: string, reason = "cancelled by request", by?: string) =>
    Effect.gen(function*() {
      yield* Effect.flatMap(journal.run(runId), (record) =>
        record._tag === "None" ? Effect.fail(Runs.notFound(runId)) : Effect.void)
      return yield* runs(runId).Cancel(by === undefined ? { reason } : { reason, by }).pipe(
        Effect.catchTags({
          MailboxFull: Effect.die,
          AlreadyProcessingMessage: Effect.die,
          PersistenceError: Effect.die
        })
      )
    })

  const resume = (runId: string) =>
    Effect.gen(function*() {
      const loaded = yield* Runs.load(journal, runId)
      if (loaded._tag === "Ended") {
        const status = loaded.outcome.status
        return yield* Runs.invalid(runId, status, `run '${runId}' already ended (${status}); nothing to resume`)
      }
      // A new generation is a new message: delivered even if an earlier start was answered; a run executing
      // already just answers it when it ends.
      yield* start(runId, loaded.start.seq)
    })

  return Engine.of({
    submit,
    wait,
    execute: (workflow, options) => Effect.flatMap(submit(workflow, options), (runId) => Effect.orDie(wait(runId))),
    cancel,
    resume,
    // The cluster redelivers the runs of dead nodes by itself; this starts any unfinished run once more (one that
    // is executing just answers the new start when it ends).
    recover: Runs.resumeAll(journal, resume),
    active: () => local._tag === "Some" ? [...local.value.runs.keys()] : []
  })
})

/** The engine of a cluster member. */
export const layerEngine: Layer.Layer<Engine, never, Sharding | Journal | EventBus | EngineConfig> = Layer.scoped(
  Engine,
  makeEngine
)

/**
 * Deletes the cluster's stored `Start` messages of runs that ended, with their replies, every `interval`: the
 * library never prunes them, and the journal keeps everything worth keeping.
 */
export const pruneMessages = (interval: Duration.DurationInput) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const prune = Effect.zipRight(
      sql`DELETE FROM cluster_replies WHERE request_id IN (
        SELECT request_id FROM cluster_messages WHERE entity_type = 'WorkflowRun' AND processed = true)`,
      sql`DELETE FROM cluster_messages WHERE entity_type = 'WorkflowRun' AND processed = true`
    ).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("pruning cluster messages failed", cause))
    )
    return yield* Effect.forever(Effect.zipRight(Effect.sleep(interval), prune))
  })
