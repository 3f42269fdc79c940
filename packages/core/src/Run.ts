/**
 * Runs and tasks as the journal records them.
 */
import * as Schema from "effect/Schema"
import { Json } from "./Json.js"

/** Status of a run. */
export const RunStatus = Schema.Literal("pending", "running", "completed", "failed", "cancelled", "timed_out")

/** Status of a run. */
export type RunStatus = typeof RunStatus.Type

/** Status of a task. `ready` is derived (pending with all dependencies completed), never stored. */
export const TaskStatus = Schema.Literal("pending", "ready", "running", "completed", "failed", "skipped", "cancelled")

/** Status of a task. */
export type TaskStatus = typeof TaskStatus.Type

/** True when a run will not change any more. */
export const isFinalRun = (status: RunStatus): boolean => status !== "pending" && status !== "running"

/** True when a task will not change any more within its run. */
export const isFinalTask = (status: TaskStatus): boolean =>
  status === "completed" || status === "failed" || status === "skipped" || status === "cancelled"

/** Why a run did not complete: a code, a message and, when a task caused it, that task. */
export const RunError = Schema.Struct({
  code: Schema.Number,
  message: Schema.String,
  taskId: Schema.optional(Schema.String)
})

/** Why a run did not complete. */
export type RunError = typeof RunError.Type

/** A run as stored. Times are epoch milliseconds. */
export class RunRecord extends Schema.Class<RunRecord>("@gleitzeit/RunRecord")({
  id: Schema.String,
  workflowId: Schema.String,
  name: Schema.String,
  status: RunStatus,
  createdAt: Schema.Number,
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number),
  error: Schema.optional(RunError),
  outputs: Schema.optional(Json),
  node: Schema.optional(Schema.String),
  taskCount: Schema.Number,
  /** Who submitted it (an API key's name), when known. */
  submittedBy: Schema.optional(Schema.String)
}) {}

/** A task of a run as stored. */
export class TaskRecord extends Schema.Class<TaskRecord>("@gleitzeit/TaskRecord")({
  runId: Schema.String,
  taskId: Schema.String,
  name: Schema.String,
  method: Schema.String,
  status: TaskStatus,
  attempts: Schema.Number,
  result: Schema.optional(Json),
  error: Schema.optional(Json),
  startedAt: Schema.optional(Schema.Number),
  finishedAt: Schema.optional(Schema.Number)
}) {}

/** One attempt of a task as stored. */
export class AttemptRecord extends Schema.Class<AttemptRecord>("@gleitzeit/AttemptRecord")({
  runId: Schema.String,
  taskId: Schema.String,
  attempt: Schema.Number,
  status: Schema.Literal("running", "completed", "failed", "cancelled"),
  startedAt: Schema.Number,
  finishedAt: Schema.optional(Schema.Number),
  error: Schema.optional(Json),
  provider: Schema.optional(Schema.String),
  node: Schema.optional(Schema.String),
  idempotencyKey: Schema.String
}) {}
