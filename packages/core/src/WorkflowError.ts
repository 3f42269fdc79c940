/**
 * Errors of loading, validating and addressing workflows and runs.
 */
import * as Schema from "effect/Schema"
import * as ErrorCode from "./ErrorCode.js"

/** One problem found in a workflow, located by its path and, when known, its line and column. */
export class Issue extends Schema.Class<Issue>("@gleitzeit/Issue")({
  path: Schema.String,
  message: Schema.String,
  code: Schema.Number,
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number)
}) {
  /** `path (line:column): message`. */
  render(file?: string): string {
    const where = this.line === undefined ? "" : `${file ?? ""}:${this.line}:${this.column ?? 1}: `
    return `${where}${this.path === "" ? "" : `${this.path}: `}${this.message}`
  }
}

/** The workflow file is not valid YAML/JSON. */
export class WorkflowParseError extends Schema.TaggedError<WorkflowParseError>("@gleitzeit/WorkflowParseError")(
  "WorkflowParseError",
  {
    file: Schema.String,
    line: Schema.Number,
    column: Schema.Number,
    message: Schema.String
  }
) {
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.ParseError
  }
}

/** The workflow parsed but is not valid; `issues` lists every problem at once. */
export class WorkflowValidationError
  extends Schema.TaggedError<WorkflowValidationError>("@gleitzeit/WorkflowValidationError")(
    "WorkflowValidationError",
    {
      file: Schema.String,
      issues: Schema.Array(Issue),
      message: Schema.String
    }
  )
{
  /** The JSON-RPC error code. */
  get code(): number {
    return this.issues.every((issue) => issue.code === ErrorCode.CircularDependency)
      ? ErrorCode.CircularDependency
      : ErrorCode.WorkflowValidation
  }
  /** Builds the error with a message that lists every issue. */
  static fromIssues(file: string, issues: ReadonlyArray<Issue>): WorkflowValidationError {
    const lines = issues.map((issue) => `  - ${issue.render(file)}`)
    return new WorkflowValidationError({
      file,
      issues,
      message: `${file}: ${issues.length} problem${issues.length === 1 ? "" : "s"}\n${lines.join("\n")}`
    })
  }
}

/** No run with this id exists in the journal. */
export class RunNotFound extends Schema.TaggedError<RunNotFound>("@gleitzeit/RunNotFound")("RunNotFound", {
  runId: Schema.String,
  message: Schema.String
}) {
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.WorkflowNotFound
  }
}

/** The operation is not valid for the run's current status (e.g. resuming a completed run). */
export class InvalidRunState extends Schema.TaggedError<InvalidRunState>("@gleitzeit/InvalidRunState")(
  "InvalidRunState",
  {
    runId: Schema.String,
    status: Schema.String,
    message: Schema.String
  }
) {
  /** The JSON-RPC error code. */
  get code(): number {
    return ErrorCode.InvalidState
  }
}
