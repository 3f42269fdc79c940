/**
 * The journal: durable record of runs, tasks, attempts, results and the append-only event log. A state
 * transition is appended (and committed) before it is published; writes are group-committed.
 */
import type { Event, Run, Workflow } from "@gleitzeit/core"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"

/** A run to create. */
export interface NewRun {
  readonly runId: string
  readonly workflow: Workflow.Workflow
  readonly createdAt: number
  /** The process that executes it (`host:pid` in embedded mode, the node name in a cluster). */
  readonly owner: string
}

/** A page of runs, newest first. */
export interface RunQuery {
  readonly status?: Run.RunStatus | undefined
  /** Only runs of the workflow with this name. */
  readonly name?: string | undefined
  /** Only runs created at or after this time (epoch ms). */
  readonly since?: number | undefined
  /** Only runs created before this time (epoch ms). */
  readonly until?: number | undefined
  /** Only runs older than this one in list order (the last run of the previous page): keyset pagination. */
  readonly before?: { readonly createdAt: number; readonly id: string } | undefined
  readonly limit?: number | undefined
  readonly offset?: number | undefined
}

/** How many runs of a workflow have a status. */
export interface RunCount {
  readonly name: string
  readonly status: Run.RunStatus
  readonly count: number
}

/** The journal service. */
export class Journal extends Context.Tag("@gleitzeit/runtime/Journal")<Journal, {
  /** Stores a new run, its tasks (pending) and its `RunSubmitted` event; durable when it returns. */
  readonly createRun: (run: NewRun, submitted: Event.Event) => Effect.Effect<void>
  /** Appends events; durable and published when it returns. */
  readonly append: (events: ReadonlyArray<Event.Event>) => Effect.Effect<void>
  /**
   * Appends events without waiting: they are committed and published with the next group commit, in order;
   * `onCommitted` (synchronous, must not throw) runs right after they were published.
   */
  readonly appendLater: (events: ReadonlyArray<Event.Event>, onCommitted?: () => void) => Effect.Effect<void>
  /** Waits until everything appended so far is committed. */
  readonly flush: Effect.Effect<void>
  /** A run by id (with who submitted it). */
  readonly run: (runId: string) => Effect.Effect<Option.Option<Run.RunRecord>>
  /** A run, its workflow and its highest event sequence number, in one read (to start or resume it). */
  readonly load: (runId: string) => Effect.Effect<
    Option.Option<{ readonly record: Run.RunRecord; readonly workflow: Workflow.Workflow; readonly lastSeq: number }>
  >
  /** The workflow a run executes. */
  readonly workflow: (runId: string) => Effect.Effect<Option.Option<Workflow.Workflow>>
  /** Runs, newest first (with who submitted them). */
  readonly runs: (query: RunQuery) => Effect.Effect<ReadonlyArray<Run.RunRecord>>
  /** How many runs there are, by workflow name and status. */
  readonly counts: Effect.Effect<ReadonlyArray<RunCount>>
  /** The tasks of a run, in workflow order. */
  readonly tasks: (runId: string) => Effect.Effect<ReadonlyArray<Run.TaskRecord>>
  /** The attempts of a run's tasks. */
  readonly attempts: (runId: string) => Effect.Effect<ReadonlyArray<Run.AttemptRecord>>
  /** The events of a run after a sequence number, in order. */
  readonly events: (runId: string, afterSeq?: number) => Effect.Effect<ReadonlyArray<Event.Event>>
  /** The highest sequence number of a run's events (0 when none). */
  readonly lastSeq: (runId: string) => Effect.Effect<number>
  /** Those of the given runs that have ended (one query, for following many runs at once). */
  readonly ended: (runIds: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Run.RunRecord>>
  /** Runs that are not finished (pending or running). */
  readonly unfinished: Effect.Effect<ReadonlyArray<Run.RunRecord>>
  /** Records which process executes a run. */
  readonly setOwner: (runId: string, owner: string) => Effect.Effect<void>
  /** The owner of a run, if any. */
  readonly owner: (runId: string) => Effect.Effect<Option.Option<string>>
}>() {}
