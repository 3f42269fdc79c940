/**
 * What every command runs against: an `Engine`-shaped client of a Gleitzeit runtime. The local implementation
 * (`LocalClient`) runs the embedded engine or joins a cluster as a client-only member; a remote one (over the HTTP
 * API) provides the same service. The composition root chooses the layer; commands never know which it is.
 */
import type { Event, Json, Run, Workflow, WorkflowError } from "@gleitzeit/core"
import type { Provider } from "@gleitzeit/providers"
import type { Engine } from "@gleitzeit/runtime"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as WorkflowFile from "./WorkflowFile.js"

/**
 * A service the client needs cannot be reached (the journal's database, the cluster's Redis, the API server);
 * `message` says which and how to fix it.
 */
export class Unavailable extends Data.TaggedError("ServiceUnavailable")<{ readonly message: string }> {}

/** What a client's operations fail with (besides defects): the domain's typed errors, or a service unreachable. */
export type Failure =
  | WorkflowError.WorkflowValidationError
  | WorkflowError.RunNotFound
  | WorkflowError.InvalidRunState
  | Unavailable

/** A workflow that passed validation against the providers the client reaches, ready to submit. */
export interface Validated {
  /** The document it came from. */
  readonly document: WorkflowFile.Document
  /** The normalized workflow. */
  readonly workflow: Workflow.Workflow
  /** What validation warned about (unknown keys, unknown params, an ignored `providers:` entry). */
  readonly warnings: ReadonlyArray<WorkflowError.Issue>
  /** Tasks whose method no provider here serves, with what to configure (`run` refuses to start them). */
  readonly unserved: ReadonlyArray<WorkflowError.Issue>
  /** Notes about the providers it will use (e.g. which local LLM endpoint was found). */
  readonly notes: ReadonlyArray<string>
}

/** Options of validation. */
export interface ValidateOptions {
  /** Values of the workflow's declared `inputs`, as given on the command line (typed by the declaration). */
  readonly inputs?: Readonly<Record<string, Json.Json>>
}

/** A run with its tasks, as `status` shows it. */
export interface RunView {
  readonly run: Run.RunRecord
  readonly tasks: ReadonlyArray<Run.TaskRecord>
}

/** One method a provider serves. */
export interface MethodRow {
  readonly provider: string
  readonly method: string
  readonly aliases: ReadonlyArray<string>
  readonly description: string
}

/** The providers a client reaches: every method and every provider's health. */
export interface ProvidersView {
  readonly methods: ReadonlyArray<MethodRow>
  readonly health: ReadonlyArray<{ readonly provider: string; readonly health: Provider.Health }>
  /** Configured LLM endpoints and where a local Ollama was looked for. */
  readonly llm: {
    readonly endpoints: ReadonlyArray<{ readonly name: string; readonly url: string; readonly type: string }>
    readonly notes: ReadonlyArray<string>
  }
  /** The configured Python sandbox backend. */
  readonly python: { readonly backend: string }
  /** Configured MCP servers. */
  readonly mcp: ReadonlyArray<{ readonly name: string; readonly transport: string }>
}

/** A page of runs. */
export interface ListQuery {
  readonly status?: Run.RunStatus | undefined
  readonly limit: number
}

/** The client service. */
export class Client extends Context.Tag("@gleitzeit/cli/Client")<Client, {
  /** Validates a workflow document (and its inputs) against the providers this client reaches. */
  readonly validate: (
    document: WorkflowFile.Document,
    options?: ValidateOptions
  ) => Effect.Effect<Validated, WorkflowError.WorkflowValidationError | Unavailable>
  /** Starts a run of a validated workflow; returns its id once it is durable. */
  readonly submit: (validated: Validated) => Effect.Effect<string, Unavailable>
  /** Waits until a run has ended. */
  readonly wait: (runId: string) => Effect.Effect<Engine.Outcome, WorkflowError.RunNotFound | Unavailable>
  /** A run's events after `afterSeq`; with `follow`, live until its final event. */
  readonly events: (
    runId: string,
    options: { readonly afterSeq?: number; readonly follow: boolean }
  ) => Stream.Stream<Event.Event, Unavailable>
  /** The highest event sequence number of a run (0 when none). */
  readonly lastSeq: (runId: string) => Effect.Effect<number, Unavailable>
  /** A run and its tasks. */
  readonly run: (runId: string) => Effect.Effect<RunView, WorkflowError.RunNotFound | Unavailable>
  /** The workflow a run executes. */
  readonly workflow: (runId: string) => Effect.Effect<Workflow.Workflow, WorkflowError.RunNotFound | Unavailable>
  /** Runs, newest first. */
  readonly list: (query: ListQuery) => Effect.Effect<ReadonlyArray<Run.RunRecord>, Unavailable>
  /** Cancels an unfinished run; running attempts are interrupted. */
  readonly cancel: (
    runId: string,
    reason: string
  ) => Effect.Effect<Engine.Outcome, WorkflowError.RunNotFound | WorkflowError.InvalidRunState | Unavailable>
  /** Resumes an unfinished run from the journal. */
  readonly resume: (
    runId: string
  ) => Effect.Effect<void, WorkflowError.RunNotFound | WorkflowError.InvalidRunState | Unavailable>
  /** Resumes every unfinished run that no live process owns; returns their ids. */
  readonly resumeAll: Effect.Effect<ReadonlyArray<string>, Unavailable>
  /** The providers, their methods and health. */
  readonly providers: Effect.Effect<ProvidersView, Unavailable>
}>() {}
