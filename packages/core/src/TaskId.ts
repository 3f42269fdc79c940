/**
 * The identifier of a task inside a workflow.
 */
import * as Schema from "effect/Schema"

/** Branded task identifier, unique within a workflow. */
export const TaskId = Schema.String.pipe(Schema.minLength(1), Schema.brand("TaskId"))

/** Branded task identifier, unique within a workflow. */
export type TaskId = typeof TaskId.Type

/** Brands a string as a TaskId without checks (for ids that were already validated). */
export const make = (id: string): TaskId => id as TaskId
