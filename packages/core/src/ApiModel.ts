/**
 * What crosses the HTTP API: submissions, runs with their tasks and attempts, results, validation reports,
 * registered workflows, providers and health. Times are RFC 3339 strings (UTC); events keep the journal's form.
 */
import * as Schema from "effect/Schema"
import { Issue } from "./ApiError.js"
import { Json } from "./Json.js"
import { RunError, RunStatus, TaskStatus } from "./Run.js"

/** An instant, as an RFC 3339 string in UTC. */
export const Timestamp = Schema.String.annotations({
  identifier: "Timestamp",
  description: "an instant, RFC 3339 in UTC",
  jsonSchema: { type: "string", format: "date-time" }
})

/** An integer query parameter between `min` and `max`. */
const queryInt = (description: string, min: number, max: number) =>
  Schema.NumberFromString.pipe(
    Schema.int({ message: () => "must be an integer" }),
    Schema.between(min, max, { message: () => `must be from ${min} to ${max}` })
  ).annotations({
    description,
    jsonSchema: { type: "integer", minimum: min, maximum: max, description }
  })

/** Values for a workflow's declared inputs, by name. */
export const Inputs = Schema.Record({ key: Schema.String, value: Json }).annotations({
  identifier: "Inputs",
  description: "values for the workflow's declared inputs, by name"
})

/**
 * A submission as JSON: either `workflow` (the workflow as YAML/JSON text, or as a JSON object in the workflow
 * format) or `name` (a registered workflow), with `inputs`.
 */
export class SubmitRequest extends Schema.Class<SubmitRequest>("SubmitRequest")({
  workflow: Schema.optional(
    Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown })).annotations({
      description: "the workflow: YAML or JSON text, or a JSON object in the workflow format"
    })
  ),
  name: Schema.optional(Schema.String.annotations({ description: "the name of a registered workflow" })),
  inputs: Schema.optional(Inputs)
}, { description: "a run to start: `workflow` or `name`, with `inputs`" }) {}

/** A submission as a raw YAML (or JSON) body, `Content-Type: application/yaml`. */
export const SubmitYaml = Schema.Uint8ArrayFromSelf.annotations({ description: "the workflow as YAML or JSON text" })

/** The answer to a submission. */
export class Submitted extends Schema.Class<Submitted>("Submitted")({
  runId: Schema.String,
  name: Schema.String,
  status: RunStatus,
  /** True when an earlier request with the same `Idempotency-Key` created the run. */
  replayed: Schema.Boolean,
  submittedBy: Schema.optional(Schema.String)
}, { description: "the run a submission created (or, with a repeated Idempotency-Key, the one it created before)" }) {}

/** A run in a list: what it is, where it stands, who submitted it. */
export class RunSummary extends Schema.Class<RunSummary>("RunSummary")({
  id: Schema.String,
  workflowId: Schema.String,
  name: Schema.String,
  status: RunStatus,
  createdAt: Timestamp,
  startedAt: Schema.optional(Timestamp),
  finishedAt: Schema.optional(Timestamp),
  durationMs: Schema.optional(Schema.Number),
  taskCount: Schema.Int,
  /** The node executing (or that executed) the run. */
  node: Schema.optional(Schema.String),
  /** The name of the API key that submitted it (never the key). */
  submittedBy: Schema.optional(Schema.String),
  error: Schema.optional(RunError)
}) {}

/** A page of runs, newest first; `nextCursor` fetches the next (older) page. */
export class RunPage extends Schema.Class<RunPage>("RunPage")({
  runs: Schema.Array(RunSummary),
  nextCursor: Schema.optional(Schema.String)
}) {}

/** The filters and page of a run list. */
export const RunListParams = Schema.Struct({
  status: Schema.optional(RunStatus),
  workflow: Schema.optional(Schema.String.annotations({ description: "only runs of the workflow with this name" })),
  since: Schema.optional(Timestamp.annotations({ description: "only runs created at or after this instant" })),
  until: Schema.optional(Timestamp.annotations({ description: "only runs created before this instant" })),
  limit: Schema.optional(queryInt("runs per page (default 50)", 1, 500)),
  cursor: Schema.optional(Schema.String.annotations({ description: "the `nextCursor` of the previous page" }))
})

/** One attempt of a task. */
export class AttemptView extends Schema.Class<AttemptView>("Attempt")({
  attempt: Schema.Int,
  status: Schema.Literal("running", "completed", "failed", "cancelled"),
  startedAt: Timestamp,
  finishedAt: Schema.optional(Timestamp),
  /** The typed error the attempt failed with. */
  error: Schema.optional(Json),
  provider: Schema.optional(Schema.String),
  node: Schema.optional(Schema.String)
}) {}

/** A task of a run with its attempts, result and typed error. */
export class TaskView extends Schema.Class<TaskView>("Task")({
  id: Schema.String,
  name: Schema.String,
  method: Schema.String,
  status: TaskStatus,
  dependencies: Schema.Array(Schema.String),
  startedAt: Schema.optional(Timestamp),
  finishedAt: Schema.optional(Timestamp),
  result: Schema.optional(Json),
  /** The typed error the task failed with (its `_tag`, `code`, `retryable`…), or why it was skipped. */
  error: Schema.optional(Json),
  attempts: Schema.Array(AttemptView)
}) {}

/** A run with its tasks, outputs and error. */
export class RunView extends Schema.Class<RunView>("Run")({
  ...RunSummary.fields,
  outputs: Schema.optional(Json),
  /** The name of the API key that cancelled it, when one did. */
  cancelledBy: Schema.optional(Schema.String),
  /** The highest event sequence number so far (resume the event stream after it). */
  lastSeq: Schema.Int,
  tasks: Schema.Array(TaskView)
}) {}

/** Where a run stands, for a caller waiting on its result. */
export class RunResult extends Schema.Class<RunResult>("RunResult")({
  runId: Schema.String,
  status: RunStatus,
  /** False when the wait ended before the run did (ask again). */
  done: Schema.Boolean,
  outputs: Schema.optional(Json),
  error: Schema.optional(RunError)
}) {}

/** How long to wait for a result. */
export const WaitParams = Schema.Struct({
  timeout: Schema.optional(queryInt("seconds to wait for the run to end (default 30; the server caps it)", 0, 3600))
})

/** Why a run is cancelled. */
export class CancelRequest extends Schema.Class<CancelRequest>("CancelRequest")({
  reason: Schema.optional(Schema.String.pipe(Schema.maxLength(1000)))
}) {}

/** A run's status after a cancel or resume request. */
export class RunStatusView extends Schema.Class<RunStatusView>("RunStatus")({
  runId: Schema.String,
  status: RunStatus,
  error: Schema.optional(RunError)
}) {}

/** Resume events after this sequence number (the `Last-Event-ID` header does the same). */
export const EventParams = Schema.Struct({
  after: Schema.optional(
    queryInt(
      "send the events after this sequence number (as the Last-Event-ID header does)",
      0,
      Number.MAX_SAFE_INTEGER
    )
  ),
  follow: Schema.optional(
    Schema.Literal("true", "false").annotations({
      description: "keep the stream open until the run ends (default true)"
    })
  )
})

/** A task as validation planned it. */
export class PlannedTask extends Schema.Class<PlannedTask>("PlannedTask")({
  id: Schema.String,
  name: Schema.String,
  method: Schema.String,
  dependencies: Schema.Array(Schema.String)
}) {}

/** A valid workflow: its tasks, and what was worth a warning. */
export class ValidationReport extends Schema.Class<ValidationReport>("ValidationReport")({
  valid: Schema.Literal(true),
  name: Schema.String,
  tasks: Schema.Array(PlannedTask),
  warnings: Schema.Array(Issue)
}) {}

/** A workflow the server runs by name. */
export class RegisteredWorkflow extends Schema.Class<RegisteredWorkflow>("RegisteredWorkflow")({
  name: Schema.String,
  /** The file it was loaded from, relative to the workflows directory. */
  file: Schema.String,
  description: Schema.optional(Schema.String),
  /** A JSON Schema of the inputs it accepts. */
  inputs: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  taskCount: Schema.Int,
  loadedAt: Timestamp,
  /** Why the file does not load (the workflow cannot run until it is fixed). */
  issues: Schema.optional(Schema.Array(Issue))
}) {}

/** The registered workflows. */
export class WorkflowList extends Schema.Class<WorkflowList>("WorkflowList")({
  workflows: Schema.Array(RegisteredWorkflow)
}) {}

/** A method a provider serves. */
export class ProviderMethod extends Schema.Class<ProviderMethod>("ProviderMethod")({
  name: Schema.String,
  aliases: Schema.Array(Schema.String),
  description: Schema.String
}) {}

/** A provider, its methods and its health. */
export class ProviderView extends Schema.Class<ProviderView>("Provider")({
  id: Schema.String,
  protocol: Schema.String,
  health: Schema.Literal("healthy", "degraded", "unhealthy"),
  detail: Schema.optional(Schema.String),
  methods: Schema.Array(ProviderMethod)
}) {}

/** The providers of the answering server. */
export class ProviderList extends Schema.Class<ProviderList>("ProviderList")({
  /** The node (or embedded process) that answered: provider health is per process. */
  node: Schema.String,
  providers: Schema.Array(ProviderView)
}) {}

/** The server is alive. */
export class Health extends Schema.Class<Health>("Health")({
  status: Schema.Literal("ok")
}) {}

/** The server can serve requests: each dependency checked. */
export class Readiness extends Schema.Class<Readiness>("Readiness")({
  status: Schema.Literal("ready"),
  checks: Schema.Record({ key: Schema.String, value: Schema.String })
}) {}
