/**
 * Run events: every state transition of a run and its tasks. The journal appends them (with a per-run sequence
 * number) before they are published, so a late subscriber can replay from an offset.
 */
import * as Schema from "effect/Schema"
import { Json } from "./Json.js"
import { RunError } from "./Run.js"

const common = {
  runId: Schema.String,
  seq: Schema.Number,
  at: Schema.Number
}

/** A run was accepted and journaled. */
export const RunSubmitted = Schema.TaggedStruct("RunSubmitted", {
  ...common,
  workflowId: Schema.String,
  name: Schema.String,
  taskCount: Schema.Number,
  /** Who submitted it: the name of the API key (never the key), when it came through the API. */
  submittedBy: Schema.optional(Schema.String)
})
/** The run's coordinator started (or restarted after recovery). */
export const RunStarted = Schema.TaggedStruct("RunStarted", {
  ...common,
  resumed: Schema.Boolean,
  /** The node taking the run on, when it becomes the run's owner with this event (a cluster's run actor). */
  node: Schema.optional(Schema.String)
})
/** An attempt of a task started. */
export const TaskStarted = Schema.TaggedStruct("TaskStarted", {
  ...common,
  taskId: Schema.String,
  attempt: Schema.Number,
  node: Schema.optional(Schema.String)
})
/** A task completed with a result. */
export const TaskCompleted = Schema.TaggedStruct("TaskCompleted", {
  ...common,
  taskId: Schema.String,
  attempt: Schema.Number,
  result: Json,
  durationMs: Schema.Number,
  provider: Schema.optional(Schema.String),
  /** The node that executed the attempt, when it is not the coordinator's (a cluster's task worker). */
  node: Schema.optional(Schema.String)
})
/** An attempt failed; `retryInMs` is set when another attempt follows. */
export const TaskAttemptFailed = Schema.TaggedStruct("TaskAttemptFailed", {
  ...common,
  taskId: Schema.String,
  attempt: Schema.Number,
  error: Json,
  retryInMs: Schema.Number
})
/** A task failed for good. */
export const TaskFailed = Schema.TaggedStruct("TaskFailed", {
  ...common,
  taskId: Schema.String,
  attempt: Schema.Number,
  error: Json
})
/** A task will not run because a dependency failed or was skipped. */
export const TaskSkipped = Schema.TaggedStruct("TaskSkipped", {
  ...common,
  taskId: Schema.String,
  reason: Schema.String
})
/** A task was cancelled (run cancelled, fail-fast, deadline). */
export const TaskCancelled = Schema.TaggedStruct("TaskCancelled", { ...common, taskId: Schema.String })
/** Output a task produced while running (streamed tokens, logs). */
export const TaskOutput = Schema.TaggedStruct("TaskOutput", {
  ...common,
  taskId: Schema.String,
  attempt: Schema.Number,
  stream: Schema.Literal("token", "stdout", "stderr", "log"),
  text: Schema.String
})
/** The run completed; every task completed (or was skipped under `continue`). */
export const RunCompleted = Schema.TaggedStruct("RunCompleted", { ...common, outputs: Json })
/** The run failed. */
export const RunFailed = Schema.TaggedStruct("RunFailed", { ...common, error: RunError })
/** The run was cancelled. */
export const RunCancelled = Schema.TaggedStruct("RunCancelled", {
  ...common,
  reason: Schema.String,
  /** Who cancelled it: the name of the API key (never the key), when it came through the API. */
  by: Schema.optional(Schema.String)
})
/** The run exceeded its deadline. */
export const RunTimedOut = Schema.TaggedStruct("RunTimedOut", { ...common, timeoutMs: Schema.Number })

/** Every event. */
export const Event = Schema.Union(
  RunSubmitted,
  RunStarted,
  TaskStarted,
  TaskCompleted,
  TaskAttemptFailed,
  TaskFailed,
  TaskSkipped,
  TaskCancelled,
  TaskOutput,
  RunCompleted,
  RunFailed,
  RunCancelled,
  RunTimedOut
)

/** Every event. */
export type Event = typeof Event.Type

/** The tag of an event. */
export type Tag = Event["_tag"]

/** Decodes a journaled event. */
export const decode = Schema.decodeUnknownSync(Event)

/** True when the event ends its run. */
export const isFinal = (event: Event): boolean =>
  event._tag === "RunCompleted" || event._tag === "RunFailed" || event._tag === "RunCancelled" ||
  event._tag === "RunTimedOut"
