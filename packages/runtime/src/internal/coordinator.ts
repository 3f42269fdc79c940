/**
 * The coordinator of one run: an actor with a mailbox. It starts each task as soon as its dependencies
 * completed (highest priority first, within the run's parallelism), runs every attempt as a child fiber admitted
 * by the global scheduler, applies the failure policy, and journals every transition before it is reported.
 * Interrupting the coordinator suspends the run (nothing is journaled; it resumes later); a `Cancel` message,
 * fail-fast or the deadline stop it for good. A `Drain` message (its node is stopping) starts nothing more, lets the
 * attempts in flight finish, then suspends the run by interrupting itself.
 */
import {
  ErrorCode,
  type Event,
  type Json,
  Retry,
  type Run,
  Substitution,
  TaskError,
  Template,
  Workflow
} from "@gleitzeit/core"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Intervals from "effect/ScheduleIntervals"
import type { EngineConfig } from "../EngineConfig.js"
import type { Executor } from "../Executor.js"
import type { Journal } from "../Journal.js"
import type { Scheduler } from "../Scheduler.js"
import { Heap } from "./heap.js"
import type { Mailbox } from "./mailbox.js"

/** What the coordinator needs. */
export interface Services {
  readonly journal: typeof Journal.Service
  readonly executor: typeof Executor.Service
  readonly scheduler: typeof Scheduler.Service
  readonly config: typeof EngineConfig.Service
}

/** A message to the coordinator. */
export type Message =
  | { readonly _tag: "Completed"; readonly taskId: string; readonly result: Json.Json }
  | { readonly _tag: "Failed"; readonly taskId: string; readonly error: TaskError.TaskFailure }
  | { readonly _tag: "Granted"; readonly taskId: string }
  | { readonly _tag: "Cancel"; readonly reason: string; readonly by?: string | undefined }
  | { readonly _tag: "Deadline" }
  | { readonly _tag: "Drain" }

/** How a run ended. */
export interface Outcome {
  readonly runId: string
  readonly status: Run.RunStatus
  readonly outputs?: Json.Json
  readonly error?: Run.RunError
}

/** How to start (or resume) a run. */
export interface Start {
  readonly runId: string
  readonly workflow: Workflow.Workflow
  /** The next event sequence number. */
  readonly seq: number
  readonly resumed: boolean
  /** The journaled task states, when resuming. */
  readonly tasks?: ReadonlyArray<Run.TaskRecord>
  /** The journaled attempts, when resuming. */
  readonly attempts?: ReadonlyArray<Run.AttemptRecord>
  /** When the run first started (for the deadline of a resumed run). */
  readonly startedAt?: number
  /** The node that takes the run on: recorded as its owner by the `RunStarted` event. */
  readonly owner?: string
}

type Stop =
  | { readonly _tag: "failed"; readonly taskId: string; readonly error: TaskError.TaskFailure }
  | { readonly _tag: "cancelled"; readonly reason: string; readonly by?: string | undefined }
  | { readonly _tag: "timed_out"; readonly timeoutMs: number }

const encodeError = (error: TaskError.TaskFailure): Json.Json => TaskError.encode(error) as unknown as Json.Json

const errorMessage = (error: unknown): string =>
  typeof error === "object" && error !== null && typeof (error as { message?: unknown }).message === "string"
    ? (error as { message: string }).message
    : String(error)

/** Runs one run to its end (or until interrupted). */
export const run = (services: Services, start: Start, mailbox: Mailbox<Message>): Effect.Effect<Outcome> =>
  Effect.scoped(Effect.gen(function*() {
    const { config, executor, journal, scheduler } = services
    const { runId, workflow } = start
    const tasks = workflow.tasks
    let seq = start.seq
    const position = new Map<string, number>(tasks.map((t, i) => [t.id, i]))
    const status = new Map<string, Run.TaskStatus>()
    const results = new Map<string, Json.Json>()
    const lastAttempt = new Map<string, number>()
    const interruptedAttempt = new Set<string>()
    const currentAttempt = new Map<string, number>()
    const waiting = new Map<string, number>()
    const failures: Array<{ readonly taskId: string; readonly message: string; readonly code: number }> = []
    const ready = new Heap<Workflow.TaskSpec>((a, b) =>
      a.priority > b.priority || (a.priority === b.priority && position.get(a.id)! < position.get(b.id)!)
    )
    const limit = workflow.maxParallelTasks ?? Number.POSITIVE_INFINITY
    let unfinished = tasks.length
    let inFlight = 0
    let stop: Stop | undefined
    let draining = false
    // Attempt fibers are children of this fiber: they cannot outlive it.
    const fibers = new Map<string, Fiber.RuntimeFiber<void>>()

    for (const task of tasks) status.set(task.id, "pending")
    for (const record of start.tasks ?? []) {
      lastAttempt.set(record.taskId, record.attempts)
      if (record.status === "running") {
        // Interrupted mid-attempt: that attempt runs again under its number. Interrupted while waiting to retry
        // (the last attempt is journaled as failed): the next attempt follows.
        const last = start.attempts?.find((a) => a.taskId === record.taskId && a.attempt === record.attempts)
        if (last === undefined || last.status === "running") interruptedAttempt.add(record.taskId)
        continue
      }
      if (record.status === "pending" || record.status === "ready") continue
      status.set(record.taskId, record.status)
      unfinished--
      if (record.status === "completed") results.set(record.taskId, (record.result ?? null) as Json.Json)
      if (record.status === "failed") {
        const error = record.error as { message?: string; code?: number } | undefined
        failures.push({
          taskId: record.taskId,
          message: error?.message ?? "failed",
          code: ErrorCode.TaskExecution
        })
      }
    }

    const lookup = (ref: string): Json.Json | undefined => {
      const task = Workflow.taskByRef(workflow, ref)
      return task === undefined ? undefined : results.get(task.id)
    }

    // Not awaited: a crash before it is durable leaves the run pending, which resumes the same way.
    yield* journal.appendLater([{
      _tag: "RunStarted",
      runId,
      seq: seq++,
      at: yield* Clock.currentTimeMillis,
      resumed: start.resumed,
      ...(start.owner === undefined ? {} : { node: start.owner })
    }])

    // ---- one task ------------------------------------------------------------------------------------------------
    // Every attempt is journaled as started, also one that fails before a provider is called (an unresolved
    // reference, invalid params, an unknown method), so attempt counts and records tell the whole story.
    const executeOnce = (task: Workflow.TaskSpec, attempt: number) =>
      Effect.gen(function*() {
        currentAttempt.set(task.id, attempt)
        yield* journal.appendLater([{
          _tag: "TaskStarted",
          runId,
          seq: seq++,
          at: yield* Clock.currentTimeMillis,
          taskId: task.id,
          attempt,
          node: config.node
        }])
        // Secret references stay for the executor (Substitution): their values never reach the coordinator.
        const resolved = Substitution.params(task.method, task.params, lookup)
        if (Either.isLeft(resolved)) {
          return yield* new TaskError.UnresolvedReference({
            taskId: task.id,
            reference: resolved.left.reference,
            message: resolved.left.message
          })
        }
        return yield* executor.execute({
          runId,
          taskId: task.id,
          attempt,
          method: task.method,
          params: resolved.right,
          timeoutMs: task.timeoutMs,
          stopping: () => stop !== undefined,
          emit: (stream, text) =>
            Effect.flatMap(Clock.currentTimeMillis, (at) =>
              journal.appendLater([{
                _tag: "TaskOutput",
                runId,
                seq: seq++,
                at,
                taskId: task.id,
                attempt,
                stream,
                text
              }]))
        })
      })

    const attempts = (task: Workflow.TaskSpec): Effect.Effect<void> =>
      Effect.gen(function*() {
        // Built on the first failure only: most attempts succeed.
        let schedule: ReturnType<typeof Retry.toSchedule> | undefined
        let scheduleState: unknown
        let attempt = interruptedAttempt.has(task.id)
          ? Math.max(1, lastAttempt.get(task.id) ?? 1)
          : (lastAttempt.get(task.id) ?? 0) + 1
        for (;;) {
          const startedAt = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(executeOnce(task, attempt))
          if (Exit.isSuccess(exit)) {
            const at = yield* Clock.currentTimeMillis
            const { node, provider, result } = exit.value
            // The coordinator hears of it only once it is durable.
            return yield* journal.appendLater([{
              _tag: "TaskCompleted",
              runId,
              seq: seq++,
              at,
              taskId: task.id,
              attempt,
              result,
              durationMs: at - startedAt,
              provider,
              ...(node === undefined ? {} : { node })
            }], () => mailbox.offer({ _tag: "Completed", taskId: task.id, result }))
          }
          // An interruption of this fiber never gets here (it skips `exit`), so an interrupted exit means the
          // attempt interrupted itself: a failure of the task, which must still reach the coordinator.
          const failure = Cause.failureOption(exit.cause)
          const error: TaskError.TaskFailure = Option.isSome(failure)
            ? failure.value
            : new TaskError.TaskDefect({
              taskId: task.id,
              message: Cause.isInterruptedOnly(exit.cause)
                ? `task '${task.id}': the attempt interrupted itself`
                : Cause.pretty(exit.cause)
            })
          // Attempt numbers count across a resume: an interrupted attempt runs again under its number.
          if (error.retryable && attempt < task.retry.maxAttempts) {
            const now = yield* Clock.currentTimeMillis
            if (schedule === undefined) {
              schedule = Retry.toSchedule(task.retry)
              scheduleState = schedule.initial
            }
            const [nextState, , decision] = yield* schedule.step(now, error, scheduleState)
            scheduleState = nextState
            if (ScheduleDecision.isContinue(decision)) {
              const delay = Math.max(0, Math.round(Intervals.start(decision.intervals) - now))
              yield* journal.appendLater([{
                _tag: "TaskAttemptFailed",
                runId,
                seq: seq++,
                at: now,
                taskId: task.id,
                attempt,
                error: encodeError(error),
                retryInMs: delay
              }])
              yield* Effect.sleep(Duration.millis(delay))
              attempt++
              continue
            }
          }
          const at = yield* Clock.currentTimeMillis
          return yield* journal.appendLater([{
            _tag: "TaskFailed",
            runId,
            seq: seq++,
            at,
            taskId: task.id,
            attempt,
            error: encodeError(error)
          }], () => mailbox.offer({ _tag: "Failed", taskId: task.id, error }))
        }
      })

    // Scheduler slots: requested when a task is ready, its fiber forked only once the slot is granted (waiting
    // tasks cost no fiber), given back exactly once when the fiber ends or the run stops.
    const tickets = new Map<string, ReturnType<typeof scheduler.request>>()
    const holding = new Set<string>()
    const releaseSlot = (taskId: string) => {
      if (holding.delete(taskId)) scheduler.release()
    }
    const granted: Array<Workflow.TaskSpec> = []

    // A defect outside the attempt itself (a bug of ours) still ends the task, as a failure.
    const taskFiber = (task: Workflow.TaskSpec) =>
      attempts(task).pipe(
        Effect.ensuring(Effect.sync(() => releaseSlot(task.id))),
        Effect.catchAllCause((cause) => {
          if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
          const error = new TaskError.TaskDefect({ taskId: task.id, message: Cause.pretty(cause) })
          return Effect.flatMap(Clock.currentTimeMillis, (at) =>
            journal.appendLater([{
              _tag: "TaskFailed",
              runId,
              seq: seq++,
              at,
              taskId: task.id,
              attempt: currentAttempt.get(task.id) ?? 1,
              error: encodeError(error)
            }], () => mailbox.offer({ _tag: "Failed", taskId: task.id, error })))
        })
      )

    const startReady = Effect.gen(function*() {
      if (draining) return
      while (stop === undefined && inFlight < limit && ready.size > 0) {
        const task = ready.pop()!
        inFlight++
        status.set(task.id, "running")
        const ticket = scheduler.request(task.priority, () => mailbox.offer({ _tag: "Granted", taskId: task.id }))
        if (ticket.granted) granted.push(task)
        else tickets.set(task.id, ticket)
      }
      while (stop === undefined && granted.length > 0) {
        const task = granted.shift()!
        holding.add(task.id)
        fibers.set(task.id, yield* Effect.fork(taskFiber(task)))
      }
    })

    const skipDependents = (failedId: string, at: number): Array<Event.Event> => {
      const events: Array<Event.Event> = []
      const queue = [failedId]
      while (queue.length > 0) {
        const id = queue.shift()!
        for (const dependent of Workflow.dependentsOf(workflow, id)) {
          if (status.get(dependent.id) !== "pending") continue
          status.set(dependent.id, "skipped")
          unfinished--
          events.push({
            _tag: "TaskSkipped",
            runId,
            seq: seq++,
            at,
            taskId: dependent.id,
            reason: `dependency '${id}' ${id === failedId ? "failed" : "was skipped"}`
          })
          queue.push(dependent.id)
        }
      }
      return events
    }

    const unstart = (taskId: string) => {
      inFlight--
      status.set(taskId, "pending")
    }

    const onMessage = (message: Message, at: number, later: Array<Event.Event>): void => {
      switch (message._tag) {
        case "Completed": {
          fibers.delete(message.taskId)
          inFlight--
          status.set(message.taskId, "completed")
          results.set(message.taskId, message.result)
          unfinished--
          for (const dependent of Workflow.dependentsOf(workflow, message.taskId)) {
            if (status.get(dependent.id) !== "pending") continue
            const left = (waiting.get(dependent.id) ?? 1) - 1
            waiting.set(dependent.id, left)
            if (left === 0) ready.push(dependent)
          }
          return
        }
        case "Failed": {
          fibers.delete(message.taskId)
          inFlight--
          status.set(message.taskId, "failed")
          unfinished--
          failures.push({ taskId: message.taskId, message: message.error.message, code: message.error.code })
          if (workflow.onFailure === "fail_fast") {
            stop ??= { _tag: "failed", taskId: message.taskId, error: message.error }
          } else later.push(...skipDependents(message.taskId, at))
          return
        }
        case "Granted": {
          // A ticket withdrawn by a drain meanwhile gave its slot back already.
          if (!tickets.delete(message.taskId)) return
          const task = Workflow.taskByRef(workflow, message.taskId)
          if (task !== undefined) granted.push(task)
          return
        }
        case "Cancel":
          stop ??= { _tag: "cancelled", reason: message.reason, by: message.by }
          return
        case "Deadline":
          stop ??= { _tag: "timed_out", timeoutMs: workflow.timeoutMs ?? 0 }
          return
        case "Drain":
          draining = true
          // Tasks still waiting for a slot, or granted one without having started, go back to ready.
          for (const [taskId, ticket] of tickets) {
            ticket.withdraw()
            unstart(taskId)
          }
          tickets.clear()
          for (const task of granted.splice(0)) {
            scheduler.release()
            unstart(task.id)
          }
          return
      }
    }

    // ---- restore and start -------------------------------------------------------------------------------------
    const restoredSkips: Array<Event.Event> = []
    const now0 = yield* Clock.currentTimeMillis
    for (const failed of failures) {
      if (workflow.onFailure === "fail_fast") {
        stop ??= {
          _tag: "failed",
          taskId: failed.taskId,
          error: new TaskError.TaskDefect({ taskId: failed.taskId, message: failed.message })
        }
      } else restoredSkips.push(...skipDependents(failed.taskId, now0))
    }
    for (const task of tasks) {
      if (status.get(task.id) === "skipped" || status.get(task.id) === "cancelled") {
        restoredSkips.push(...skipDependents(task.id, now0))
      }
    }
    if (restoredSkips.length > 0) yield* journal.appendLater(restoredSkips)
    for (const task of tasks) {
      if (status.get(task.id) !== "pending") continue
      let left = 0
      for (const dep of task.dependencies) if (status.get(dep) !== "completed") left++
      waiting.set(task.id, left)
      if (left === 0) ready.push(task)
    }

    if (workflow.timeoutMs !== undefined) {
      const elapsed = start.startedAt === undefined ? 0 : now0 - start.startedAt
      const remaining = Math.max(0, workflow.timeoutMs - elapsed)
      yield* Effect.forkScoped(
        Effect.zipRight(
          Effect.sleep(Duration.millis(remaining)),
          Effect.sync(() => mailbox.offer({ _tag: "Deadline" }))
        )
      )
    }

    yield* startReady
    while (stop === undefined && unfinished > 0 && !(draining && fibers.size === 0)) {
      const messages = yield* mailbox.takeAll
      const at = yield* Clock.currentTimeMillis
      const later: Array<Event.Event> = []
      for (const message of messages) onMessage(message, at, later)
      if (later.length > 0) yield* journal.appendLater(later)
      yield* startReady
    }

    // Drained: nothing runs any more; the run resumes elsewhere from what is journaled.
    if (draining && stop === undefined && unfinished > 0) {
      yield* journal.flush
      return yield* Effect.interrupt
    }

    // ---- finish ------------------------------------------------------------------------------------------------
    const final: Array<Event.Event> = []
    let outcome: Outcome
    if (stop !== undefined) {
      yield* Fiber.interruptAll(fibers.values())
      // Slots not taken up yet are given back; so are those of fibers interrupted before they began.
      for (const ticket of tickets.values()) ticket.withdraw()
      tickets.clear()
      for (const _ of granted.splice(0)) scheduler.release()
      for (const taskId of [...holding]) releaseSlot(taskId)
      // Attempts that ended before the interruption: wait until what they journaled is committed, then count them.
      yield* journal.flush
      const at = yield* Clock.currentTimeMillis
      for (const message of mailbox.drain()) {
        if (message._tag === "Completed" || message._tag === "Failed") onMessage(message, at, final)
      }
      for (const task of tasks) {
        const s = status.get(task.id)
        if (s === "pending" || s === "running") {
          status.set(task.id, "cancelled")
          final.push({ _tag: "TaskCancelled", runId, seq: seq++, at, taskId: task.id })
        }
      }
      switch (stop._tag) {
        case "failed": {
          const error = {
            code: stop.error.code,
            message: `task '${stop.taskId}' failed: ${errorMessage(stop.error)}`,
            taskId: stop.taskId
          }
          final.push({ _tag: "RunFailed", runId, seq: seq++, at, error })
          outcome = { runId, status: "failed", error }
          break
        }
        case "cancelled":
          final.push({
            _tag: "RunCancelled",
            runId,
            seq: seq++,
            at,
            reason: stop.reason,
            ...(stop.by === undefined ? {} : { by: stop.by })
          })
          outcome = { runId, status: "cancelled", error: { code: ErrorCode.WorkflowCancelled, message: stop.reason } }
          break
        case "timed_out":
          final.push({ _tag: "RunTimedOut", runId, seq: seq++, at, timeoutMs: stop.timeoutMs })
          outcome = {
            runId,
            status: "timed_out",
            error: {
              code: ErrorCode.WorkflowTimeout,
              message: `the run exceeded its deadline of ${stop.timeoutMs} ms`
            }
          }
          break
      }
    } else {
      const at = yield* Clock.currentTimeMillis
      if (failures.length > 0) {
        const error = {
          code: failures.length === 1 ? failures[0]!.code : ErrorCode.WorkflowExecution,
          message: `${failures.length} task${failures.length === 1 ? "" : "s"} failed: ${
            failures.map((f) => `${f.taskId} (${f.message})`).join("; ")
          }`,
          taskId: failures[0]!.taskId
        }
        final.push({ _tag: "RunFailed", runId, seq: seq++, at, error })
        outcome = { runId, status: "failed", error }
      } else {
        const outputs = Template.resolve(workflow.outputs, lookup)
        if (Either.isLeft(outputs)) {
          const error = { code: ErrorCode.ParameterError, message: `outputs: ${outputs.left.message}` }
          final.push({ _tag: "RunFailed", runId, seq: seq++, at, error })
          outcome = { runId, status: "failed", error }
        } else {
          final.push({ _tag: "RunCompleted", runId, seq: seq++, at, outputs: outputs.right })
          outcome = { runId, status: "completed", outputs: outputs.right }
        }
      }
    }
    yield* journal.append(final)
    return outcome
  }))
