/**
 * Turning what a caller sent (YAML, JSON text, a JSON document, or a registered workflow's name, with inputs) into
 * a validated workflow, or into the API problem that says exactly what is wrong.
 */
import {
  Api,
  ApiError,
  type ApiModel,
  ErrorCode,
  Json,
  type Workflow,
  WorkflowError,
  WorkflowLoader
} from "@gleitzeit/core"
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
  readonly scopes: ReadonlyArray<Api.Scope>
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

const validationFailure = (error: WorkflowError.WorkflowValidationError) =>
  ApiError.workflowValidationError(error.message, error.code, error.issues)

const parseFailure = (error: WorkflowError.WorkflowParseError) =>
  ApiError.workflowParseError(error.message, error.line, error.column)

/**
 * A workflow's own `providers:` block may start processes or add endpoints: over the API it is refused unless the
 * configuration lets the key's scope use it. (What an allowed block may add is decided by the configuration's
 * grants when the workflow runs, as for the CLI.)
 */
const checkProviders = (
  value: unknown,
  context: Context,
  locate: (path: ReadonlyArray<string>) => { readonly line: number; readonly column: number } | undefined
): Effect.Effect<void, ApiError.ProvidersNotAllowed> => {
  const block = Json.isObject(value) ? value["providers"] : undefined
  if (block === undefined || block === null) return Effect.void
  if (context.settings.workflowProviders.some((scope) => Api.grants(context.scopes, scope))) return Effect.void
  const at = locate(["providers"])
  return Effect.fail(ApiError.providersNotAllowed([
    new WorkflowError.Issue({
      path: "providers",
      message: "a workflow submitted over the API may not declare providers (they could start processes or add " +
        "endpoints); use the providers the server configures, or ask its operator to allow this block for your key",
      code: ErrorCode.WorkflowValidation,
      ...(at === undefined ? {} : { line: at.line, column: at.column })
    })
  ]))
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

/** Loads YAML or JSON text. */
const fromText = (text: string, file: string, context: Context): Effect.Effect<Loaded, LoadError> =>
  Effect.gen(function*() {
    const parsed = yield* WorkflowLoader.parse(text, { file }).pipe(Effect.mapError(parseFailure))
    yield* checkProviders(parsed.value, context, parsed.locate)
    return yield* WorkflowLoader.load(text, {
      file,
      ...(context.catalog === undefined ? {} : { catalog: context.catalog })
    }).pipe(
      Effect.catchTags({
        WorkflowParseError: (e) => Effect.fail(parseFailure(e)),
        WorkflowValidationError: (e) => Effect.fail(validationFailure(e))
      })
    )
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
      return yield* fromText(entry.value.text, file, context)
    }
    yield* checkInputs(inputs, "<request>")
    if (typeof workflow === "string") return yield* fromText(workflow, "<request>", context)
    yield* checkProviders(workflow, context, () => undefined)
    return yield* WorkflowLoader.fromObject(workflow, {
      file: "<request>",
      ...(context.catalog === undefined ? {} : { catalog: context.catalog })
    }).pipe(Effect.mapError(validationFailure))
  })
