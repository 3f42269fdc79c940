/**
 * Journal records as the API shows them: times as RFC 3339 strings, tasks with their attempts and dependencies.
 * Views are built from the journal's own records, so their classes are constructed without validating again.
 */
import { ApiModel, type Json, type Run, TaskError, type Workflow } from "@gleitzeit/core"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

const decodeFailure = Schema.decodeUnknownEither(TaskError.TaskFailure)

/**
 * A journaled task error with its verdict spelled out: the typed error's fields plus its JSON-RPC `code` and
 * `retryable` (which the error class computes, so the journal does not store them). Anything else (a skipped task's
 * reason) is shown as it is.
 */
export const taskError = (error: Json.Json): Json.Json => {
  const decoded = decodeFailure(error)
  if (Either.isLeft(decoded) || typeof error !== "object" || error === null || Array.isArray(error)) return error
  return { ...error, code: decoded.right.code, retryable: decoded.right.retryable }
}

/** An epoch-ms time as RFC 3339 (UTC). */
export const time = (ms: number): string => new Date(ms).toISOString()

const optionalTime = <K extends string>(key: K, ms: number | undefined): { [P in K]?: string } =>
  (ms === undefined ? {} : { [key]: time(ms) }) as { [P in K]?: string }

/** The fields of a run shared by its summary and its full view. */
const runFields = (run: Run.RunRecord) => ({
  id: run.id,
  workflowId: run.workflowId,
  name: run.name,
  status: run.status,
  createdAt: time(run.createdAt),
  ...optionalTime("startedAt", run.startedAt),
  ...optionalTime("finishedAt", run.finishedAt),
  ...(run.startedAt !== undefined && run.finishedAt !== undefined
    ? { durationMs: run.finishedAt - run.startedAt }
    : {}),
  taskCount: run.taskCount,
  ...(run.node === undefined ? {} : { node: run.node }),
  ...(run.submittedBy === undefined ? {} : { submittedBy: run.submittedBy }),
  ...(run.error === undefined ? {} : { error: run.error })
})

/** A run in a list. */
export const summary = (run: Run.RunRecord): ApiModel.RunSummary => new ApiModel.RunSummary(runFields(run), true)

/** A run with its tasks, attempts and outputs. */
export const run = (
  record: Run.RunRecord,
  workflow: Workflow.Workflow,
  tasks: ReadonlyArray<Run.TaskRecord>,
  attempts: ReadonlyArray<Run.AttemptRecord>,
  lastSeq: number,
  cancelledBy: string | undefined
): ApiModel.RunView => {
  const attemptsOf = new Map<string, Array<ApiModel.AttemptView>>()
  for (const a of attempts) {
    const list = attemptsOf.get(a.taskId) ?? []
    list.push(
      new ApiModel.AttemptView({
        attempt: a.attempt,
        status: a.status,
        startedAt: time(a.startedAt),
        ...optionalTime("finishedAt", a.finishedAt),
        ...(a.error === undefined ? {} : { error: taskError(a.error) }),
        ...(a.provider === undefined ? {} : { provider: a.provider }),
        ...(a.node === undefined ? {} : { node: a.node })
      }, true)
    )
    attemptsOf.set(a.taskId, list)
  }
  const dependencies = new Map(workflow.tasks.map((t) => [t.id as string, t.dependencies as ReadonlyArray<string>]))
  return new ApiModel.RunView({
    ...runFields(record),
    ...(record.outputs === undefined ? {} : { outputs: record.outputs }),
    ...(cancelledBy === undefined ? {} : { cancelledBy }),
    lastSeq,
    tasks: tasks.map((t) =>
      new ApiModel.TaskView({
        id: t.taskId,
        name: t.name,
        method: t.method,
        status: t.status,
        dependencies: dependencies.get(t.taskId) ?? [],
        ...optionalTime("startedAt", t.startedAt),
        ...optionalTime("finishedAt", t.finishedAt),
        ...(t.result === undefined ? {} : { result: t.result }),
        ...(t.error === undefined ? {} : { error: taskError(t.error) }),
        attempts: (attemptsOf.get(t.taskId) ?? []).sort((a, b) => a.attempt - b.attempt)
      })
    )
  }, true)
}

/** A list cursor: the position of the last run of a page. */
export const encodeCursor = (run: Run.RunRecord): string =>
  Buffer.from(JSON.stringify([run.createdAt, run.id]), "utf8").toString("base64url")

/** The position a cursor names, if it is one. */
export const decodeCursor = (cursor: string): { readonly createdAt: number; readonly id: string } | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (Array.isArray(value) && typeof value[0] === "number" && typeof value[1] === "string") {
      return { createdAt: value[0], id: value[1] }
    }
  } catch {
    // not a cursor
  }
  return undefined
}
