/**
 * Loads workflows from YAML or JSON text (with file, line and column on every problem) or from plain objects
 * (the TypeScript API), normalizing the predecessor's format into a validated `Workflow`.
 */
import * as Effect from "effect/Effect"
import { isNode, LineCounter, parseDocument } from "yaml"
import * as Batch from "./Batch.js"
import * as ErrorCode from "./ErrorCode.js"
import * as Depth from "./internal/depth.js"
import * as Normalize from "./internal/normalize.js"
import type { Json, JsonObject } from "./Json.js"
import type * as Protocol from "./Protocol.js"
import type * as Retry from "./Retry.js"
import * as Template from "./Template.js"
import { TaskSpec, Workflow } from "./Workflow.js"
import { Issue, WorkflowParseError, WorkflowValidationError } from "./WorkflowError.js"

/** Options of loading. */
export interface Options {
  /** The file name used in messages (default `<input>`). */
  readonly file?: string
  /** Known methods; when given, unknown methods and invalid params are reported. */
  readonly catalog?: Protocol.Catalog
  /** The retry policy of tasks that declare none. */
  readonly defaultRetry?: Retry.RetryPolicy
  /** Largest accepted text, in bytes (default 10 MiB). */
  readonly maxBytes?: number
  /** Deepest accepted nesting of maps and lists (default 64). */
  readonly maxDepth?: number
  /** Most alias expansions while building the document (default 100). */
  readonly maxAliases?: number
  /**
   * Lists the files of a batch workflow (`type: batch`): paths matching `pattern` under `directory`, relative to
   * the workflow file. Without it, batch workflows cannot be loaded.
   */
  readonly listFiles?: (directory: string, pattern: string) => Effect.Effect<ReadonlyArray<string>, string>
  /**
   * Resolves a literal host path param (one a method declares in `hostPaths`) to the path the task will use, or
   * fails with why it is not allowed or not there; the failure becomes a positioned issue. Without it, host path
   * params are left as written (and checked only when they are read).
   */
  readonly hostPath?: (path: string) => Effect.Effect<string, string>
}

/** A loaded workflow and the warnings found on the way (unknown keys, ignored fields). */
export interface Loaded {
  readonly workflow: Workflow
  readonly warnings: ReadonlyArray<Issue>
}

/** A parsed document and a way to locate paths in its source. */
export interface Parsed {
  readonly value: unknown
  readonly locate: (path: Normalize.Path) => { readonly line: number; readonly column: number } | undefined
}

/** The default size limit of a workflow text, in bytes. */
export const defaultMaxBytes = 10 * 1024 * 1024

/** The default nesting limit of a workflow document. */
export const defaultMaxDepth = 64

const defaultMaxAliases = 100

const baseName = (file: string): string | undefined => {
  const base = file.split(/[\\/]/).pop()
  return base === undefined || base === "" || base.startsWith("<") ? undefined : base.replace(/\.(ya?ml|json)$/i, "")
}

/**
 * Why a text cannot be a workflow file because of its encoding: UTF-16 (a byte-order mark, or a NUL after every
 * ASCII character, seen through a UTF-8 or Latin-1 decoding) or binary data.
 */
const encodingProblem = (text: string): string | undefined => {
  const head = text.slice(0, 2)
  const utf16 = "is encoded as UTF-16; save it as UTF-8"
  if (head === "\uFFFD\uFFFD" || head === "\u00FF\u00FE" || head === "\u00FE\u00FF" || head === "\uFFFE") return utf16
  const nul = text.indexOf("\0")
  if (nul < 0) return undefined
  const sample = text.slice(0, 200)
  const alternating = sample.length >= 4 &&
    [...sample].every((c, i) => (i % 2 === (sample[0] === "\0" ? 0 : 1)) === (c === "\0"))
  return alternating ? utf16 : `contains a NUL character (offset ${nul}): it is not a text file`
}

const parseError = (file: string, at: Depth.Position, message: string) =>
  new WorkflowParseError({
    file,
    line: at.line,
    column: at.column,
    message: `${file}:${at.line}:${at.column}: ${message}`
  })

/**
 * Parses YAML (JSON is YAML too) keeping source positions. The size, nesting depth and alias expansions are
 * checked first (before the document is built), so hostile input fails with a positioned error in bounded time
 * and memory.
 */
export const parse = (text: string, options: Options = {}): Effect.Effect<Parsed, WorkflowParseError> =>
  Effect.suspend(() => {
    const file = options.file ?? "<input>"
    const limit = options.maxBytes ?? defaultMaxBytes
    const bytes = Buffer.byteLength(text, "utf8")
    if (bytes > limit) {
      return Effect.fail(
        new WorkflowParseError({
          file,
          line: 1,
          column: 1,
          message: `${file} is ${bytes} bytes; the limit is ${limit}`
        })
      )
    }
    const encoding = encodingProblem(text)
    if (encoding !== undefined) {
      return Effect.fail(new WorkflowParseError({ file, line: 1, column: 1, message: `${file} ${encoding}` }))
    }
    const maxDepth = options.maxDepth ?? defaultMaxDepth
    const scanned = Depth.scan(text, maxDepth)
    if (scanned._tag === "TooDeep") {
      return Effect.fail(parseError(file, scanned.at, `nested more than ${maxDepth} levels deep (the limit)`))
    }
    const lineCounter = new LineCounter()
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
    const first = doc.errors[0]
    if (first !== undefined) {
      const pos = first.linePos?.[0] ?? lineCounter.linePos(first.pos[0])
      const message = first.message.split("\n")[0] ?? first.message
      return Effect.fail(parseError(file, { line: pos.line, column: pos.col }, message))
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: options.maxAliases ?? defaultMaxAliases })
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause)
      return Effect.fail(parseError(file, scanned.firstAlias ?? { line: 1, column: 1 }, message))
    }
    const locate = (path: Normalize.Path) => {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)
        if (isNode(node) && node.range) {
          const pos = lineCounter.linePos(node.range[0])
          return { line: pos.line, column: pos.col }
        }
      }
      return undefined
    }
    return Effect.succeed({ value, locate })
  })

const toIssue = (finding: Normalize.Finding, parsed: Parsed | undefined): Issue => {
  const pos = parsed?.locate(finding.path)
  return new Issue({
    path: Normalize.renderPath(finding.path),
    message: finding.message,
    code: finding.code,
    ...(pos === undefined ? {} : { line: pos.line, column: pos.column })
  })
}

const expandBatch = (value: unknown, options: Options): Effect.Effect<unknown, WorkflowValidationError> => {
  const spec = Batch.specOf(value)
  if (spec === undefined) return Effect.succeed(value)
  const file = options.file ?? "<input>"
  const failed = (message: string) =>
    Effect.fail(
      WorkflowValidationError.fromIssues(file, [
        new Issue({ path: "batch", message, code: ErrorCode.WorkflowValidation })
      ])
    )
  if (options.listFiles === undefined) {
    return failed("batch workflows need a file listing (load them with the CLI or pass listFiles)")
  }
  return options.listFiles(spec.directory, spec.pattern).pipe(
    Effect.catchAll((message) => failed(`cannot list ${spec.directory}/${spec.pattern}: ${message}`)),
    Effect.flatMap((files) =>
      files.length === 0
        ? failed(`no file matches '${spec.pattern}' in '${spec.directory}'`)
        : Effect.succeed(Batch.expand(value as JsonObject, files))
    )
  )
}

/**
 * Resolves the literal host path params of every task through `options.hostPath` (references are left to the
 * execution, where the same policy applies); every refused or missing path is a positioned issue.
 */
const resolveHostPaths = (
  workflow: Workflow,
  doc: unknown,
  parsed: Parsed | undefined,
  options: Options
): Effect.Effect<Workflow, WorkflowValidationError> => {
  const { catalog, hostPath } = options
  if (hostPath === undefined || catalog === undefined) return Effect.succeed(workflow)
  const rawTasks = (doc as { readonly tasks?: ReadonlyArray<Record<string, unknown>> }).tasks ?? []
  const issues: Array<Issue> = []
  const resolveOne = (path: string, at: Normalize.Path) =>
    Template.hasReference(path) ? Effect.succeed(path) : hostPath(path).pipe(
      Effect.catchAll((message) => {
        issues.push(toIssue({ path: at, message, code: ErrorCode.InvalidParams }, parsed))
        return Effect.succeed(path)
      })
    )
  return Effect.forEach(workflow.tasks, (task, index) => {
    const names = catalog.lookup(task.method)?.hostPaths ?? []
    if (!names.some((name) => task.params[name] !== undefined)) return Effect.succeed(task)
    const raw = rawTasks[index]
    const paramsKey = raw !== undefined && raw["params"] === undefined && raw["parameters"] !== undefined
      ? "parameters"
      : "params"
    const params: Record<string, Json> = { ...task.params }
    return Effect.forEach(names, (name) => {
      const value = params[name]
      const at: Normalize.Path = ["tasks", index, paramsKey, name]
      if (typeof value === "string") {
        return Effect.map(resolveOne(value, at), (path) => {
          params[name] = path
        })
      }
      if (Array.isArray(value)) {
        return Effect.map(
          Effect.forEach(
            value,
            (item, i) => typeof item === "string" ? resolveOne(item, [...at, i]) : Effect.succeed(item)
          ),
          (paths) => {
            params[name] = paths
          }
        )
      }
      return Effect.void
    }, { discard: true }).pipe(Effect.as(new TaskSpec({ ...task, params }, true)))
  }).pipe(
    Effect.flatMap((tasks) =>
      issues.length > 0
        ? Effect.fail(WorkflowValidationError.fromIssues(options.file ?? "<input>", issues))
        : Effect.succeed(new Workflow({ ...workflow, tasks }, true))
    )
  )
}

const build = (
  value: unknown,
  parsed: Parsed | undefined,
  options: Options
): Effect.Effect<Loaded, WorkflowValidationError> =>
  Effect.suspend(() => {
    const file = options.file ?? "<input>"
    const result = Normalize.normalize(value, {
      catalog: options.catalog,
      defaultRetry: options.defaultRetry,
      defaultName: baseName(file)
    })
    const warnings = result.warnings.map((w) => toIssue(w, parsed))
    if (result.workflow === undefined) {
      const issues = result.issues.map((i) => toIssue(i, parsed))
      return Effect.fail(WorkflowValidationError.fromIssues(file, issues))
    }
    return Effect.map(
      resolveHostPaths(result.workflow, value, parsed, options),
      (workflow): Loaded => ({ workflow, warnings })
    )
  })

/** Loads a workflow from a document parsed by `parse` (parse once, then load). */
export const fromParsed = (parsed: Parsed, options: Options = {}): Effect.Effect<Loaded, WorkflowValidationError> =>
  Effect.flatMap(
    expandBatch(parsed.value, options),
    (value) => build(value, value === parsed.value ? parsed : undefined, options)
  )

/** Loads a workflow from YAML or JSON text. */
export const load = (
  text: string,
  options: Options = {}
): Effect.Effect<Loaded, WorkflowParseError | WorkflowValidationError> =>
  Effect.flatMap(parse(text, options), (parsed) => fromParsed(parsed, options))

/** Loads a workflow from a plain object in the workflow format (the TypeScript API). */
export const fromObject = (
  value: unknown,
  options: Options = {}
): Effect.Effect<Loaded, WorkflowValidationError> =>
  Effect.flatMap(expandBatch(value, options), (expanded) => build(expanded, undefined, options))

/** True when an issue list contains a cycle. */
export const hasCycle = (error: WorkflowValidationError): boolean =>
  error.issues.some((issue) => issue.code === ErrorCode.CircularDependency)
