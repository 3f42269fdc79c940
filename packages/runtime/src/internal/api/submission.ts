/**
 * Turning what a caller sent (YAML, JSON text, a JSON document, or a registered workflow's name, with inputs) into
 * a validated workflow, or into the API problem that says exactly what is wrong.
 */
import { ApiError, type ApiModel, ErrorCode, Json, type Workflow, WorkflowError, WorkflowLoader } from "@gleitzeit/core"
import { PathPolicy, WorkflowProviders } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Settings } from "../../ApiConfig.js"
import type { WorkflowRegistry } from "../../WorkflowRegistry.js"

/** What an endpoint received: the JSON request, or the workflow itself as YAML. */
export type Payload = ApiModel.SubmitRequest | Uint8Array

/** A loaded submission. */
export interface Loaded {
  readonly workflow: Workflow.Workflow
  readonly warnings: ReadonlyArray<WorkflowError.Issue>
}

/** What loading a submission may fail with. */
export type LoadError =
  | ApiError.BadRequest
  | ApiError.WorkflowParseError
  | ApiError.WorkflowValidationError
  | ApiError.WorkflowNotRegistered
  | ApiError.ProvidersNotAllowed

/** What loading needs. */
export interface Context {
  readonly registry: WorkflowRegistry["Type"]
  readonly catalog: WorkflowLoader.Options["catalog"]
  readonly settings: Settings
  /** The path policy every host path a workflow names goes through (its roots, as for the CLI). */
  readonly paths: PathPolicy.PathPolicy["Type"]
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

const validationFailure = (error: WorkflowError.WorkflowValidationError) =>
  ApiError.workflowValidationError(error.message, error.code, error.issues)

const parseFailure = (error: WorkflowError.WorkflowParseError) =>
  ApiError.workflowParseError(error.message, error.line, error.column)

type Locate = (path: WorkflowProviders.Path) => { readonly line: number; readonly column: number } | undefined

const issueAt = (finding: WorkflowProviders.Finding, locate: Locate) => {
  const at = locate(finding.path)
  return new WorkflowError.Issue({
    path: finding.path.reduce<string>(
      (out, seg) => typeof seg === "number" ? `${out}[${seg}]` : out === "" ? seg : `${out}.${seg}`,
      ""
    ),
    message: finding.message,
    code: ErrorCode.WorkflowValidation,
    ...(at === undefined ? {} : { line: at.line, column: at.column })
  })
}

/**
 * A workflow's own `providers:` block, decided by the one policy for it (`WorkflowProviders.decide`) against the
 * providers the server's configuration declares, with no grants: over the API a block may select and tune those,
 * never start a process or add an endpoint (a 403 naming each refused entry). The server runs every workflow with
 * its configured providers, so what the block selects or tunes is not applied: said as a warning.
 */
const checkProviders = (
  value: unknown,
  context: Context,
  locate: Locate
): Effect.Effect<ReadonlyArray<WorkflowError.Issue>, ApiError.ProvidersNotAllowed> => {
  const block = Json.isObject(value) ? value["providers"] : undefined
  if (block === undefined || block === null) return Effect.succeed([])
  const decision = WorkflowProviders.decide(block, context.settings.providers, WorkflowProviders.noGrants)
  if (decision.refusals.length > 0) {
    return Effect.fail(ApiError.providersNotAllowed(decision.refusals.map((finding) => issueAt(finding, locate))))
  }
  return Effect.succeed([
    ...decision.warnings.map((finding) => issueAt(finding, locate)),
    issueAt({
      path: ["providers"],
      message: "over the API a workflow runs with the providers the server configures; this block is not applied"
    }, locate)
  ])
}

/** Inputs the workflow does not declare (until workflows declare inputs, every input is one). */
const checkInputs = (inputs: ApiModel.SubmitRequest["inputs"], file: string) => {
  const names = Object.keys(inputs ?? {})
  if (names.length === 0) return Effect.void
  const issues = names.map((name) =>
    new WorkflowError.Issue({
      path: `inputs.${name}`,
      message: `unknown input '${name}': the workflow declares no inputs`,
      code: ErrorCode.WorkflowValidation
    })
  )
  return Effect.fail(validationFailure(WorkflowError.WorkflowValidationError.fromIssues(file, issues)))
}

/** Loads YAML or JSON text (from `path` when it is a registered workflow's file: its folder is where relative paths are
 * also looked up). */
const fromText = (text: string, file: string, context: Context, path?: string): Effect.Effect<Loaded, LoadError> =>
  Effect.gen(function*() {
    const parsed = yield* WorkflowLoader.parse(text, { file }).pipe(Effect.mapError(parseFailure))
    const notes = yield* checkProviders(parsed.value, context, parsed.locate)
    const loaded = yield* WorkflowLoader.fromParsed(parsed, {
      file,
      ...(context.catalog === undefined ? {} : { catalog: context.catalog }),
      ...PathPolicy.forWorkflow(context.paths, path)
    }).pipe(Effect.mapError(validationFailure))
    return { workflow: loaded.workflow, warnings: [...notes, ...loaded.warnings] }
  })

/** Loads a submission: a YAML body, or a JSON request naming or carrying the workflow. */
export const load = (payload: Payload, context: Context): Effect.Effect<Loaded, LoadError> =>
  Effect.gen(function*() {
    if (payload instanceof Uint8Array) {
      const text = yield* Effect.try({
        try: () => utf8.decode(payload),
        catch: () => ApiError.badRequest("the workflow is not UTF-8 text")
      })
      return yield* fromText(text, "<request>", context)
    }
    const { inputs, name, workflow } = payload
    if ((workflow === undefined) === (name === undefined)) {
      return yield* ApiError.badRequest(
        "give either `workflow` (the workflow itself) or `name` (a registered workflow)"
      )
    }
    if (name !== undefined) {
      const entry = yield* context.registry.get(name)
      if (Option.isNone(entry)) {
        const known = (yield* context.registry.list).map((e) => e.name)
        return yield* ApiError.workflowNotRegistered(name, known)
      }
      const { file, loaded } = entry.value
      if (loaded._tag === "Invalid") {
        return yield* validationFailure(WorkflowError.WorkflowValidationError.fromIssues(file, loaded.issues))
      }
      yield* checkInputs(inputs, file)
      return yield* fromText(entry.value.text, file, context, entry.value.path)
    }
    yield* checkInputs(inputs, "<request>")
    if (typeof workflow === "string") return yield* fromText(workflow, "<request>", context)
    const notes = yield* checkProviders(workflow, context, () => undefined)
    const loaded = yield* WorkflowLoader.fromObject(workflow, {
      file: "<request>",
      ...(context.catalog === undefined ? {} : { catalog: context.catalog }),
      ...PathPolicy.forWorkflow(context.paths)
    }).pipe(Effect.mapError(validationFailure))
    return { workflow: loaded.workflow, warnings: [...notes, ...loaded.warnings] }
  })
