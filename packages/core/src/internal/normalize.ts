/**
 * Turns a parsed workflow document (plain JS values) into a validated `Workflow`, collecting every problem with
 * its path. Pure: no IO.
 */
import * as Either from "effect/Either"
import * as Dag from "../Dag.js"
import * as ErrorCode from "../ErrorCode.js"
import type { Json, JsonObject } from "../Json.js"
import * as JsonValue from "../Json.js"
import * as Priority from "../Priority.js"
import * as Protocol from "../Protocol.js"
import * as Retry from "../Retry.js"
import * as TaskId from "../TaskId.js"
import * as Template from "../Template.js"
import { maxTimeoutSeconds, TaskSpec, Workflow } from "../Workflow.js"

/** A path into the document. */
export type Path = ReadonlyArray<string | number>

/** A problem (or warning) found while normalizing. */
export interface Finding {
  readonly path: Path
  readonly message: string
  readonly code: number
}

/** Options of the normalizer. */
export interface NormalizeOptions {
  readonly catalog?: Protocol.Catalog | undefined
  readonly defaultRetry?: Retry.RetryPolicy | undefined
  readonly defaultName?: string | undefined
}

/** The outcome: a workflow when there are no issues, plus warnings either way. */
export interface Normalized {
  readonly workflow: Workflow | undefined
  readonly issues: ReadonlyArray<Finding>
  readonly warnings: ReadonlyArray<Finding>
}

const workflowKeys = new Set([
  "id",
  "name",
  "description",
  "tasks",
  "metadata",
  "providers",
  "type",
  "batch",
  "template",
  "protocol",
  "version",
  "timeout",
  "wait_for_completion",
  "outputs",
  "priority",
  "max_parallel_tasks",
  "on_failure",
  "retry"
])

const taskKeys = new Set([
  "id",
  "name",
  "method",
  "protocol",
  "params",
  "parameters",
  "dependencies",
  "priority",
  "timeout",
  "retry",
  "metadata"
])

/** Characters that would break a `${id.path}` reference, or a terminal, if they were in a task id. */
// eslint-disable-next-line no-control-regex
const unreferenceable = /[.[\]{}$\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/** Param keys whose literal values are credentials. */
const credentialKey =
  /^(authorization|proxy-authorization|x-api-key|api[_-]?key|apikey|access[_-]?token|token|password|passwd|secret|client[_-]?secret)$/i

const retryKeys = new Set(["max_attempts", "backoff", "base_delay", "max_delay", "jitter"])

/** Renders a path as `tasks[2].params.a`. */
export const renderPath = (path: Path): string =>
  path.reduce<string>(
    (out, seg) => typeof seg === "number" ? `${out}[${seg}]` : out === "" ? seg : `${out}.${seg}`,
    ""
  )

const describe = (value: unknown): string =>
  value === null
    ? "null"
    : Array.isArray(value)
    ? "a list"
    : typeof value === "object"
    ? "a mapping"
    : `${typeof value} ${JSON.stringify(value)}`

interface RawTask {
  readonly index: number
  readonly id: string
  readonly name: string
  readonly method: string
  readonly protocol: string
  readonly params: JsonObject
  readonly paramsKey: "params" | "parameters"
  readonly dependencies: ReadonlyArray<{ readonly ref: string; readonly path: Path }>
  readonly priority: number
  readonly timeoutMs: number | undefined
  readonly retry: Retry.RetryPolicy
  readonly metadata: JsonObject
}

/** Normalizes a parsed document. */
export const normalize = (doc: unknown, options: NormalizeOptions = {}): Normalized => {
  const issues: Array<Finding> = []
  const warnings: Array<Finding> = []
  const issue = (path: Path, message: string, code: number = ErrorCode.WorkflowValidation) =>
    issues.push({ path, message, code })
  const warn = (path: Path, message: string) => warnings.push({ path, message, code: ErrorCode.WorkflowValidation })

  if (!JsonValue.isObject(doc as Json)) {
    issue([], `a workflow must be a mapping with a 'tasks' list, got ${describe(doc)}`)
    return { workflow: undefined, issues, warnings }
  }
  const root = doc as Record<string, unknown>

  const optString = (value: unknown, path: Path, opts: { max?: number; allowNumber?: boolean } = {}) => {
    if (value === undefined || value === null) return undefined
    if (typeof value === "number" && opts.allowNumber) return String(value)
    if (typeof value !== "string") {
      issue(path, `must be a string, got ${describe(value)}`)
      return undefined
    }
    if (opts.max !== undefined && (value.length < 1 || value.length > opts.max)) {
      issue(path, `must be 1–${opts.max} characters, got ${value.length}`)
      return undefined
    }
    return value
  }
  const optSeconds = (value: unknown, path: Path) => {
    if (value === undefined || value === null) return undefined
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      issue(path, `must be a positive number of seconds, got ${describe(value)}`)
      return undefined
    }
    if (value > maxTimeoutSeconds) {
      issue(path, `must be at most ${maxTimeoutSeconds} seconds (7 days), got ${value}`)
      return undefined
    }
    return Math.max(1, Math.round(value * 1000))
  }
  const optMapping = (value: unknown, path: Path): JsonObject | undefined => {
    if (value === undefined || value === null) return undefined
    if (!JsonValue.isObject(value as Json)) {
      issue(path, `must be a mapping, got ${describe(value)}`)
      return undefined
    }
    return value as JsonObject
  }
  const optPriority = (value: unknown, path: Path): number | undefined => {
    if (value === undefined || value === null) return undefined
    if (typeof value === "number" && Number.isFinite(value)) return Priority.rankOfNumber(value)
    if (typeof value === "string" && Object.hasOwn(Priority.ranks, value)) return Priority.ranks[value as Priority.Name]
    issue(path, `must be one of low, normal, high, urgent or a number, got ${describe(value)}`)
    return undefined
  }
  const readRetry = (value: unknown, path: Path, base: Retry.RetryPolicy): Retry.RetryPolicy => {
    if (value === undefined || value === null) return base
    if (typeof value === "number") {
      if (!Number.isInteger(value) || value < 1 || value > 10) {
        issue(path, `max attempts must be an integer from 1 to 10, got ${value}`)
        return base
      }
      return new Retry.RetryPolicy({ ...base, maxAttempts: value }, true)
    }
    const raw = optMapping(value, path)
    if (raw === undefined) return base
    for (const key of Object.keys(raw)) {
      if (!retryKeys.has(key)) warn([...path, key], `unknown retry key '${key}' ignored`)
    }
    let { backoff, baseDelayMs, jitter, maxAttempts, maxDelayMs } = base
    const attempts = raw["max_attempts"]
    if (attempts !== undefined) {
      if (typeof attempts !== "number" || !Number.isInteger(attempts) || attempts < 1 || attempts > 10) {
        issue([...path, "max_attempts"], `must be an integer from 1 to 10, got ${describe(attempts)}`)
      } else maxAttempts = attempts
    }
    const b = raw["backoff"]
    if (b !== undefined) {
      if (b === "fixed" || b === "linear" || b === "exponential") backoff = b
      else issue([...path, "backoff"], `must be fixed, linear or exponential, got ${describe(b)}`)
    }
    const delay = (key: string): number | undefined => {
      const v = raw[key]
      if (v === undefined) return undefined
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        issue([...path, key], `must be a non-negative number of seconds, got ${describe(v)}`)
        return undefined
      }
      if (v > Retry.maxDelaySeconds) {
        issue([...path, key], `must be at most ${Retry.maxDelaySeconds} seconds (1 day), got ${v}`)
        return undefined
      }
      return Math.round(v * 1000)
    }
    baseDelayMs = delay("base_delay") ?? baseDelayMs
    const explicitMax = delay("max_delay")
    maxDelayMs = explicitMax ?? Math.max(maxDelayMs, baseDelayMs)
    if (explicitMax !== undefined && explicitMax < baseDelayMs) {
      issue([...path, "max_delay"], `must not be below base_delay`)
    }
    const j = raw["jitter"]
    if (j !== undefined) {
      if (typeof j === "boolean") jitter = j
      else issue([...path, "jitter"], `must be true or false, got ${describe(j)}`)
    }
    return new Retry.RetryPolicy({ maxAttempts, backoff, baseDelayMs, maxDelayMs, jitter }, true)
  }

  for (const key of Object.keys(root)) {
    if (!workflowKeys.has(key)) warn([key], `unknown workflow key '${key}' ignored`)
  }

  const id = optString(root["id"], ["id"], { allowNumber: true })
  const name = optString(root["name"], ["name"], { max: 200 }) ?? id ?? options.defaultName ?? "workflow"
  const description = optString(root["description"], ["description"])
  const version = optString(root["version"], ["version"], { allowNumber: true })
  const timeoutMs = optSeconds(root["timeout"], ["timeout"])
  const metadata = optMapping(root["metadata"], ["metadata"]) ?? {}
  const workflowPriority = optPriority(root["priority"], ["priority"]) ?? Priority.normal
  const defaultRetry = readRetry(root["retry"], ["retry"], options.defaultRetry ?? Retry.defaultPolicy)
  let maxParallelTasks: number | undefined
  const mpt = root["max_parallel_tasks"]
  if (mpt !== undefined && mpt !== null) {
    if (typeof mpt !== "number" || !Number.isInteger(mpt) || mpt < 1) {
      issue(["max_parallel_tasks"], `must be a positive integer, got ${describe(mpt)}`)
    } else maxParallelTasks = mpt
  }
  let onFailure: "fail_fast" | "continue" = "fail_fast"
  const of = root["on_failure"]
  if (of !== undefined && of !== null) {
    if (of === "fail_fast" || of === "fail-fast") onFailure = "fail_fast"
    else if (of === "continue") onFailure = "continue"
    else issue(["on_failure"], `must be fail_fast or continue, got ${describe(of)}`)
  }
  const wfc = root["wait_for_completion"]
  if (wfc !== undefined && typeof wfc !== "boolean") {
    issue(["wait_for_completion"], `must be true or false, got ${describe(wfc)}`)
  }
  const type = root["type"]
  if (type !== undefined && type !== "workflow" && type !== "batch") {
    issue(["type"], `must be workflow or batch, got ${describe(type)}`)
  }
  const providers = optMapping(root["providers"], ["providers"])
  optString(root["protocol"], ["protocol"])
  const batchRaw = root["batch"]
  const isBatch = type === "batch" || (type === undefined && batchRaw !== undefined && batchRaw !== null)
  if (isBatch || batchRaw !== undefined) {
    const batch = optMapping(batchRaw, ["batch"])
    if (batch === undefined && isBatch && (batchRaw === undefined || batchRaw === null)) {
      issue(["batch"], "a batch workflow needs batch: { directory, pattern }")
    }
    if (batch !== undefined) {
      for (const key of ["directory", "pattern"]) {
        if (typeof batch[key] !== "string" || batch[key] === "") {
          issue(["batch", key], `must be a non-empty string, got ${describe(batch[key])}`)
        }
      }
    }
    const template = optMapping(root["template"], ["template"])
    if (template === undefined && (root["template"] === undefined || root["template"] === null)) {
      issue(["template"], "a batch workflow needs a template: the task to run for each file")
    }
  } else optMapping(root["template"], ["template"])

  // ---- tasks ------------------------------------------------------------------------------------------------------
  const tasksRaw = root["tasks"]
  const rawTasks: Array<RawTask> = []
  if (tasksRaw === undefined || tasksRaw === null) {
    if (!isBatch) issue(["tasks"], "is required")
  } else if (!Array.isArray(tasksRaw)) {
    issue(["tasks"], `must be a list of tasks, got ${describe(tasksRaw)}`)
  } else if (tasksRaw.length === 0) {
    issue(["tasks"], "must contain at least one task")
  } else {
    const usedIds = new Set<string>()
    for (const [i, t] of tasksRaw.entries()) {
      if (JsonValue.isObject(t as Json)) {
        const explicit = (t as Record<string, unknown>)["id"]
        if (typeof explicit === "string" || typeof explicit === "number") usedIds.add(String(explicit))
      }
      void i
    }
    let generated = 0
    const nextId = (): string => {
      for (;;) {
        const candidate = `task-${++generated}`
        if (!usedIds.has(candidate)) {
          usedIds.add(candidate)
          return candidate
        }
      }
    }
    for (const [index, t] of tasksRaw.entries()) {
      const path: Path = ["tasks", index]
      if (!JsonValue.isObject(t as Json)) {
        issue(path, `a task must be a mapping, got ${describe(t)}`)
        continue
      }
      const task = t as Record<string, unknown>
      for (const key of Object.keys(task)) {
        if (!taskKeys.has(key)) warn([...path, key], `unknown task key '${key}' ignored`)
      }
      const taskId = optString(task["id"], [...path, "id"], { allowNumber: true })
      if (taskId === "") issue([...path, "id"], "must not be empty")
      else if (taskId === Template.secretsNamespace) {
        issue([...path, "id"], `'${taskId}' is reserved: \${secrets.NAME} names a configured secret`)
      } else if (taskId !== undefined) {
        const bad = unreferenceable.exec(taskId)
        if (bad !== null) {
          issue(
            [...path, "id"],
            `${JSON.stringify(taskId)} cannot be referenced: a task id may not contain ${
              JSON.stringify(bad[0])
            } (nor '.', '[', ']', '{', '}', '$', spaces or control characters)`
          )
        } else if (taskId.length > 200) issue([...path, "id"], `must be at most 200 characters, got ${taskId.length}`)
      }
      const taskName = optString(task["name"], [...path, "name"], { max: 200 })
      const methodRaw = task["method"]
      let method = ""
      if (methodRaw === undefined || methodRaw === null) issue([...path, "method"], "is required")
      else if (typeof methodRaw !== "string" || methodRaw.trim() === "") {
        issue([...path, "method"], `must be a method name such as llm/chat, got ${describe(methodRaw)}`)
      } else method = methodRaw.trim()
      const protocol = optString(task["protocol"], [...path, "protocol"])
      let params: JsonObject = {}
      let paramsKey: "params" | "parameters" = "params"
      if (task["params"] !== undefined && task["params"] !== null) {
        params = optMapping(task["params"], [...path, "params"]) ?? {}
        if (task["parameters"] !== undefined) {
          warn([...path, "parameters"], "both 'params' and 'parameters' given; 'params' wins")
        }
      } else if (task["parameters"] !== undefined && task["parameters"] !== null) {
        paramsKey = "parameters"
        params = optMapping(task["parameters"], [...path, "parameters"]) ?? {}
      }
      const deps: Array<{ ref: string; path: Path }> = []
      const depsRaw = task["dependencies"]
      if (depsRaw !== undefined && depsRaw !== null) {
        const list = typeof depsRaw === "string" || typeof depsRaw === "number" ? [depsRaw] : depsRaw
        if (!Array.isArray(list)) {
          issue([...path, "dependencies"], `must be a list of task ids or names, got ${describe(depsRaw)}`)
        } else {
          for (const [j, d] of list.entries()) {
            if (typeof d === "string" || typeof d === "number") {
              deps.push({ ref: String(d), path: [...path, "dependencies", j] })
            } else issue([...path, "dependencies", j], `must be a task id or name, got ${describe(d)}`)
          }
        }
      }
      rawTasks.push({
        index,
        id: taskId !== undefined && taskId !== "" ? taskId : nextId(),
        name: taskName ?? taskId ?? "",
        method,
        protocol: protocol ?? Protocol.protocolOf(method),
        params,
        paramsKey,
        dependencies: deps,
        priority: optPriority(task["priority"], [...path, "priority"]) ?? workflowPriority,
        timeoutMs: optSeconds(task["timeout"], [...path, "timeout"]),
        retry: readRetry(task["retry"], [...path, "retry"], defaultRetry),
        metadata: optMapping(task["metadata"], [...path, "metadata"]) ?? {}
      })
    }
  }

  // ---- references between tasks ------------------------------------------------------------------------------------
  const byId = new Map<string, RawTask>()
  for (const task of rawTasks) {
    const previous = byId.get(task.id)
    if (previous !== undefined) {
      issue(["tasks", task.index, "id"], `duplicate task id '${task.id}' (also tasks[${previous.index}])`)
    } else byId.set(task.id, task)
  }
  const nameCount = new Map<string, number>()
  const byName = new Map<string, RawTask>()
  for (const task of rawTasks) {
    if (task.name === "") continue
    nameCount.set(task.name, (nameCount.get(task.name) ?? 0) + 1)
    if (!byName.has(task.name)) byName.set(task.name, task)
  }
  const resolveRef = (ref: string, path: Path, what: string): string | undefined => {
    const direct = byId.get(ref)
    if (direct !== undefined) return direct.id
    const count = nameCount.get(ref) ?? 0
    if (count === 1) return byName.get(ref)!.id
    if (count > 1) issue(path, `${what} '${ref}' is ambiguous: ${count} tasks have that name; use an id`)
    else issue(path, `${what} '${ref}' names no task in this workflow`)
    return undefined
  }

  const specs: Array<TaskSpec> = []
  const checkSecret = (ref: Template.Reference, path: Path) => {
    const name = ref.path[0]
    if (ref.path.length !== 1 || typeof name !== "string" || !Template.secretName.test(name)) {
      issue(
        path,
        `${ref.text}: a secret reference is \${secrets.NAME}, NAME made of letters, digits and '_'`,
        ErrorCode.ParameterError
      )
    }
  }
  /** A credential written into the workflow is journaled as written: say so, and what to use instead. */
  const warnLiteralCredentials = (value: Json, path: Path): void => {
    if (Array.isArray(value)) value.forEach((item, i) => warnLiteralCredentials(item, [...path, i]))
    else if (JsonValue.isObject(value)) {
      for (const key in value) {
        const item = value[key]!
        if (typeof item === "string" && credentialKey.test(key) && item !== "" && !Template.hasReference(item)) {
          warn(
            [...path, key],
            `'${key}' holds a literal credential, stored in the journal as written; use \${secrets.NAME} instead`
          )
        } else warnLiteralCredentials(item, [...path, key])
      }
    }
  }
  const refPathsOf = (value: Json, path: Path): Array<{ refs: ReadonlyArray<Template.Reference>; path: Path }> => {
    const found: Array<{ refs: ReadonlyArray<Template.Reference>; path: Path }> = []
    const visit = (v: Json, p: Path): void => {
      if (typeof v === "string") {
        if (!v.includes("${")) return
        const { errors, refs } = Template.references(v)
        for (const e of errors) issue(p, e.message, ErrorCode.ParameterError)
        if (refs.length > 0) found.push({ refs, path: p })
      } else if (Array.isArray(v)) v.forEach((item, i) => visit(item, [...p, i]))
      else if (JsonValue.isObject(v)) { for (const key in v) visit(v[key]!, [...p, key]) }
    }
    visit(value, path)
    return found
  }

  for (const task of rawTasks) {
    const path: Path = ["tasks", task.index]
    const dependencies: Array<string> = []
    const seen = new Set<string>()
    const addDep = (id: string) => {
      if (seen.has(id)) return
      seen.add(id)
      dependencies.push(id)
    }
    for (const dep of task.dependencies) {
      const id = resolveRef(dep.ref, dep.path, "dependency")
      if (id !== undefined) addDep(id)
    }
    const paramsKey = task.paramsKey
    for (const { path: refPath, refs } of refPathsOf(task.params, [...path, paramsKey])) {
      for (const ref of refs) {
        if (Template.isSecret(ref)) {
          checkSecret(ref, refPath)
          continue
        }
        const id = resolveRef(ref.task, refPath, `reference ${ref.text}:`)
        if (id !== undefined) addDep(id)
      }
    }
    warnLiteralCredentials(task.params, [...path, paramsKey])
    let method = task.method
    if (method !== "" && options.catalog !== undefined) {
      const spec = options.catalog.lookup(method)
      if (spec === undefined) {
        const near = options.catalog.methods.map((m) => m.name).filter((n) => n.split("/")[0] === method.split("/")[0])
        issue(
          [...path, "method"],
          `unknown method '${method}'${near.length > 0 ? ` (known: ${near.slice(0, 8).join(", ")})` : ""}`,
          ErrorCode.MethodNotFound
        )
      } else {
        method = spec.name
        const checked = Protocol.checkParams(spec, task.params)
        if (Either.isLeft(checked)) {
          for (const problem of checked.left) {
            if (reachesTemplate(task.params, problem.path)) continue
            issue(
              [...path, paramsKey, ...problem.path.map((p) => typeof p === "symbol" ? String(p) : p)],
              problem.message,
              ErrorCode.InvalidParams
            )
          }
        }
      }
    }
    specs.push(
      new TaskSpec({
        id: TaskId.make(task.id),
        name: task.name === "" ? task.id : task.name,
        method,
        protocol: method === task.method ? task.protocol : Protocol.protocolOf(method),
        params: task.params,
        dependencies: dependencies.map(TaskId.make),
        priority: task.priority,
        ...(task.timeoutMs === undefined ? {} : { timeoutMs: task.timeoutMs }),
        retry: task.retry,
        metadata: task.metadata
      }, true)
    )
  }

  for (const cycle of Dag.cycles(specs.map((s) => ({ id: s.id, dependencies: s.dependencies })))) {
    const first = byId.get(cycle[0]!)
    issue(
      first === undefined ? ["tasks"] : ["tasks", first.index, "dependencies"],
      `dependency cycle: ${cycle.join(" → ")}`,
      ErrorCode.CircularDependency
    )
  }

  // ---- outputs ------------------------------------------------------------------------------------------------------
  const outputs: Record<string, Json> = {}
  const outputsRaw = optMapping(root["outputs"], ["outputs"])
  if (outputsRaw !== undefined) {
    for (const [key, value] of Object.entries(outputsRaw)) {
      outputs[key] = value
      for (const { path: refPath, refs } of refPathsOf(value, ["outputs", key])) {
        for (const ref of refs) {
          if (Template.isSecret(ref)) {
            issue(refPath, `${ref.text}: outputs cannot use secrets (outputs are journaled and printed)`)
          } else resolveRef(ref.task, refPath, `reference ${ref.text}:`)
        }
      }
    }
  }

  if (issues.length > 0) return { workflow: undefined, issues, warnings }
  const workflow = new Workflow({
    id: id ?? slug(name),
    name,
    ...(description === undefined ? {} : { description }),
    ...(version === undefined ? {} : { version }),
    tasks: specs,
    metadata,
    ...(providers === undefined ? {} : { providers: providers as Json }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(maxParallelTasks === undefined ? {} : { maxParallelTasks }),
    onFailure,
    outputs,
    priority: workflowPriority
  }, true)
  return { workflow, issues, warnings }
}

const slug = (name: string): string =>
  name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "workflow"

/** True when the value at `path` (or one of its ancestors) is a string with a reference. */
const reachesTemplate = (params: Json, path: ReadonlyArray<PropertyKey>): boolean => {
  let current: Json | undefined = params
  for (const seg of path) {
    if (typeof current === "string") return Template.hasReference(current)
    if (Array.isArray(current) && typeof seg === "number") current = current[seg]
    else if (JsonValue.isObject(current) && typeof seg === "string") current = current[seg]
    else return false
    if (current === undefined) return false
  }
  return typeof current === "string" && Template.hasReference(current)
}
