/**
 * The cluster's actors and their messages.
 *
 * - `WorkflowRun`, one per run (entity id = run id), hosts the run's coordinator. Its `Start` message is persisted
 *   (primary key: run id and generation), so a run whose node dies is redelivered to the shard's new owner, which
 *   resumes it from the journal. `Cancel` is volatile and reaches whichever node owns the run.
 * - `TaskWorker` entities execute task attempts wherever their shard lives. `Execute` is volatile: a node that dies
 *   mid-attempt makes the coordinator dispatch the same attempt again; its chunks stream the attempt's output back
 *   to the coordinator, which journals it.
 */
import * as ClusterSchema from "@effect/cluster/ClusterSchema"
import * as Entity from "@effect/cluster/Entity"
import * as Rpc from "@effect/rpc/Rpc"
import type * as RpcSchema from "@effect/rpc/RpcSchema"
import { type Json, Run, TaskError, WorkflowError } from "@gleitzeit/core"
import * as Schema from "effect/Schema"

/**
 * A JSON value on the wire. Params and results are JSON-normalized before they are sent (they read back from the
 * journal that way), so they are carried as they are instead of being checked structurally a second time.
 */
const JsonValue = Schema.Unknown as unknown as Schema.Schema<Json.Json>

/** How a run ended (the reply to `Start` and `Cancel`). */
export const Outcome = Schema.Struct({
  runId: Schema.String,
  status: Run.RunStatus,
  outputs: Schema.optionalWith(JsonValue, { exact: true }),
  error: Schema.optionalWith(Run.RunError, { exact: true })
})

/** The actor hosting one run's coordinator; its entity id is the run id. */
export const WorkflowRun = Entity.make("WorkflowRun", [
  Rpc.make("Start", {
    payload: { runId: Schema.String, generation: Schema.Number },
    success: Outcome,
    // A start of a run the journal does not have is answered, not retried.
    error: WorkflowError.RunNotFound,
    // One persisted message per start (or explicit resume) of a run, never one per task.
    primaryKey: ({ generation, runId }) => `${runId}#${generation}`
  })
    .annotate(ClusterSchema.Persisted, true)
    // A client that stops waiting (Ctrl-C on `submit --wait`) must not interrupt the run.
    .annotate(ClusterSchema.Uninterruptible, "client"),
  Rpc.make("Cancel", {
    payload: { reason: Schema.String, by: Schema.optional(Schema.String) },
    success: Outcome,
    error: Schema.Union(WorkflowError.RunNotFound, WorkflowError.InvalidRunState)
  })
])

/** Output of an attempt (tokens, logs). */
const OutputFields = {
  stream: Schema.Literal("token", "stdout", "stderr", "log"),
  text: Schema.String
}

/** The result of an attempt and the node that executed it. */
const ResultFields = { result: JsonValue, provider: Schema.String, node: Schema.String }

/** A chunk of a streamed reply: output as it happens, then exactly one result. */
export const AttemptChunk = Schema.Union(
  Schema.TaggedStruct("Output", OutputFields),
  Schema.TaggedStruct("Result", ResultFields)
)

/** A chunk of a streamed reply. */
export type AttemptChunk = typeof AttemptChunk.Type

/** A whole reply: the result, with the output the attempt produced (delivered at its end). */
export const AttemptReply = Schema.Struct({ ...ResultFields, outputs: Schema.Array(Schema.Struct(OutputFields)) })

/** A whole reply. */
export type AttemptReply = typeof AttemptReply.Type

/** What an attempt can fail with, on the wire. */
const AttemptFailure: Schema.Schema<TaskError.TaskFailure, TaskError.TaskFailureEncoded> = TaskError.TaskFailure

/** A worker on a draining node refused an attempt: it was not executed, and goes to the shard's next owner. */
export class Refused extends Schema.TaggedError<Refused>("@gleitzeit/Refused")("Refused", {
  node: Schema.String,
  message: Schema.String
}) {}

/** The key of an attempt within a worker. */
export const attemptKey = (a: { readonly runId: string; readonly taskId: string; readonly attempt: number }): string =>
  `${a.runId}/${a.taskId}#${a.attempt}`

const executeFields = {
  runId: Schema.String,
  taskId: Schema.String,
  attempt: Schema.Number,
  method: Schema.String,
  params: JsonValue,
  timeoutMs: Schema.optional(Schema.Number)
}

/** One attempt to execute. */
export type AttemptPayload = Schema.Struct.Type<typeof executeFields>

const ExecuteError: Schema.Union<[typeof AttemptFailure, typeof Refused]> = Schema.Union(AttemptFailure, Refused)

const cancelFields = { runId: Schema.String, taskId: Schema.String, attempt: Schema.Number }

/**
 * The actors executing task attempts; an entity id is a routing bucket (see `workerKey`). `Execute` answers once
 * (the cheap message, for methods whose output need not be seen live); a caller that stops waiting does not stop the
 * attempt (its run may just be moving to another node, whose coordinator joins it): only `Cancel` does, sent when
 * the run is cancelled, fails fast or times out. `ExecuteStreaming` streams output as it happens (LLM tokens), and
 * stops with its caller.
 */
export const TaskWorker: Entity.Entity<
  "TaskWorker",
  | Rpc.Rpc<"Execute", Schema.Struct<typeof executeFields>, typeof AttemptReply, typeof ExecuteError>
  | Rpc.Rpc<
    "ExecuteStreaming",
    Schema.Struct<typeof executeFields>,
    RpcSchema.Stream<typeof AttemptChunk, typeof ExecuteError>
  >
  | Rpc.Rpc<"Cancel", Schema.Struct<typeof cancelFields>>
> = Entity.make("TaskWorker", [
  Rpc.make("Execute", { payload: executeFields, success: AttemptReply, error: ExecuteError })
    .annotate(ClusterSchema.Uninterruptible, "client"),
  Rpc.make("ExecuteStreaming", { payload: executeFields, success: AttemptChunk, error: ExecuteError, stream: true }),
  Rpc.make("Cancel", { payload: cancelFields })
])

/** Whether an attempt's output is streamed back live (LLM tokens) or delivered with its result. */
export const streamsOutput = (method: string): boolean => method.startsWith("llm/")

/** Routing buckets of task workers: enough to spread evenly over the shards of many nodes. */
export const workerBuckets = 256

/** FNV-1a: a cheap, stable string hash. */
const hash = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * How attempts find their worker: `task` (a bucket of the run/task hash: the tasks of one run spread over the
 * nodes) or, for LLM tasks only, `model` (all calls of a model go to the same worker, so to the node that has that
 * model loaded; other tasks still spread by task).
 */
export type Routing = "task" | "model"

/**
 * The task worker that executes an attempt. An attempt that is dispatched again goes to the same place while that
 * node lives.
 */
export const workerKey = (
  attempt: { readonly runId: string; readonly taskId: string; readonly method: string; readonly params: Json.Json },
  routing: Routing = "task"
): string => {
  if (routing === "model" && attempt.method.startsWith("llm/")) {
    const model = typeof attempt.params === "object" && attempt.params !== null && !Array.isArray(attempt.params)
      ? (attempt.params as { readonly model?: unknown }).model
      : undefined
    if (typeof model === "string") return `m${hash(model) % workerBuckets}`
  }
  return `w${hash(`${attempt.runId}/${attempt.taskId}`) % workerBuckets}`
}
