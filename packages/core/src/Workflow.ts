/**
 * The normalized workflow model: what the loader produces from YAML/JSON/TypeScript and what the journal stores.
 * Durations are milliseconds; dependencies are task ids (names and references already resolved).
 */
import * as Schema from "effect/Schema"
import { Json, JsonObject } from "./Json.js"
import { RetryPolicy } from "./Retry.js"
import { TaskId } from "./TaskId.js"

/** The longest `timeout` a workflow or task may give: seven days. */
export const maxTimeoutSeconds = 7 * 24 * 60 * 60

/** What happens when a task fails for good. */
export const OnFailure = Schema.Literal("fail_fast", "continue")

/** What happens when a task fails for good. */
export type OnFailure = typeof OnFailure.Type

/** One task of a workflow. */
export class TaskSpec extends Schema.Class<TaskSpec>("@gleitzeit/TaskSpec")({
  id: TaskId,
  name: Schema.String,
  method: Schema.String,
  protocol: Schema.String,
  params: JsonObject,
  dependencies: Schema.Array(TaskId),
  priority: Schema.Number,
  timeoutMs: Schema.optional(Schema.Number),
  retry: RetryPolicy,
  metadata: JsonObject
}) {}

/** A validated workflow. */
export class Workflow extends Schema.Class<Workflow>("@gleitzeit/Workflow")({
  id: Schema.String,
  name: Schema.String,
  description: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  tasks: Schema.Array(TaskSpec),
  metadata: JsonObject,
  providers: Schema.optional(Json),
  timeoutMs: Schema.optional(Schema.Number),
  maxParallelTasks: Schema.optional(Schema.Int),
  onFailure: OnFailure,
  outputs: Schema.Record({ key: Schema.String, value: Json }),
  priority: Schema.Number
}) {}

interface Index {
  readonly byRef: Map<string, TaskSpec>
  readonly dependents: Map<string, Array<TaskSpec>>
}

const indexes = new WeakMap<Workflow, Index>()

const indexOf = (workflow: Workflow): Index => {
  let index = indexes.get(workflow)
  if (index === undefined) {
    const byRef = new Map<string, TaskSpec>()
    const names = new Map<string, number>()
    for (const task of workflow.tasks) names.set(task.name, (names.get(task.name) ?? 0) + 1)
    for (const task of workflow.tasks) if (names.get(task.name) === 1) byRef.set(task.name, task)
    for (const task of workflow.tasks) byRef.set(task.id, task)
    const dependents = new Map<string, Array<TaskSpec>>()
    for (const task of workflow.tasks) {
      for (const dep of new Set(task.dependencies)) {
        const list = dependents.get(dep)
        if (list === undefined) dependents.set(dep, [task])
        else list.push(task)
      }
    }
    index = { byRef, dependents }
    indexes.set(workflow, index)
  }
  return index
}

/** The task a reference names: an id first, otherwise a unique name. */
export const taskByRef = (workflow: Workflow, ref: string): TaskSpec | undefined => indexOf(workflow).byRef.get(ref)

/** The tasks that depend directly on a task. */
export const dependentsOf = (workflow: Workflow, taskId: string): ReadonlyArray<TaskSpec> =>
  indexOf(workflow).dependents.get(taskId) ?? []

/** Encodes a workflow to its JSON form (for the journal and the wire). */
export const encode = Schema.encodeSync(Workflow)

/** Decodes a workflow from its JSON form. */
export const decode = Schema.decodeUnknownSync(Workflow)
