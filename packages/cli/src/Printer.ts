/**
 * How the CLI renders events, runs and tasks as text.
 */
import type { Event, Json, Run, Workflow } from "@gleitzeit/core"

/**
 * Makes text from a workflow or a journal safe to print on a terminal: control characters (escape sequences that
 * could clear the screen or set the title, carriage returns, backspaces), DEL, C1 controls and bidirectional
 * overrides are shown as `\xNN` / `\u{NNNN}` instead of being interpreted. Newlines and tabs are kept when asked.
 */
export const escape = (text: string, options: { readonly keepNewlines?: boolean } = {}): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (options.keepNewlines && (c === "\n" || c === "\t")) return c
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u{${code.toString(16)}}`
  })

/** Removes ANSI escape sequences (for output that is not a terminal). */
export const stripAnsi = (text: string): string =>
  // eslint-disable-next-line no-control-regex
  text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)|\u001b[@-_]/g, "")

/** What the printer knows about a run's tasks (names and methods). */
export interface TaskNames {
  readonly [taskId: string]: { readonly name: string; readonly method: string } | undefined
}

/** Task names of a workflow. */
export const namesOf = (workflow: Workflow.Workflow): TaskNames =>
  Object.fromEntries(workflow.tasks.map((t) => [t.id, { name: t.name, method: t.method }]))

const preview = (value: Json.Json | undefined, width = 72): string => {
  if (value === undefined) return ""
  const text = typeof value === "string" ? value : JSON.stringify(value)
  const flat = escape(text.replace(/\s+/g, " ").trim())
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat
}

/**
 * The part of a task result worth a glance: an LLM's or a tool's `response` text, a Python task's `result`, an HTTP
 * response's status and body; otherwise the whole result.
 */
export const essence = (result: Json.Json | undefined): Json.Json | undefined => {
  if (result === null || typeof result !== "object" || Array.isArray(result)) return result
  const record = result as { readonly [key: string]: Json.Json }
  if (typeof record["response"] === "string") return record["response"]
  if ("result" in record && "stdout" in record) return record["result"]
  if (typeof record["status"] === "number" && "body" in record) {
    const body = record["body"]
    return `${record["status"]} ${typeof body === "string" ? body : JSON.stringify(body)}`
  }
  return result
}

/** The message of a task's error (escaped for the terminal). */
export const messageOf = (error: Json.Json | undefined): string => {
  if (error !== null && typeof error === "object" && !Array.isArray(error)) {
    const message = (error as { message?: unknown }).message
    if (typeof message === "string") return escape(message)
  }
  return preview(error ?? null)
}

/** Renders a duration in ms as `850 ms`, `3.2 s` or `2 min 5 s`. */
export const duration = (ms: number): string =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 60_000
    ? `${(ms / 1000).toFixed(1)} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`

const label = (names: TaskNames, taskId: string): string => {
  const entry = names[taskId]
  return entry === undefined || entry.name === taskId ? escape(taskId) : `${escape(taskId)} (${escape(entry.name)})`
}

/** One line (or none) for an event. */
export const renderEvent = (event: Event.Event, names: TaskNames): string | undefined => {
  switch (event._tag) {
    case "RunSubmitted":
      return `▶ run ${event.runId} · ${escape(event.name)} · ${event.taskCount} task${event.taskCount === 1 ? "" : "s"}`
    case "RunStarted":
      return event.resumed ? `↻ resumed run ${event.runId}` : undefined
    case "TaskStarted":
      return `  → ${label(names, event.taskId)} ${escape(names[event.taskId]?.method ?? "")}${
        event.attempt > 1 ? ` (attempt ${event.attempt})` : ""
      }`
    case "TaskCompleted":
      return `  ✓ ${label(names, event.taskId)} ${duration(event.durationMs)}  ${preview(essence(event.result), 60)}${
        event.node === undefined ? "" : `  (on ${event.node})`
      }`
    case "TaskAttemptFailed":
      return `  ! ${label(names, event.taskId)} attempt ${event.attempt} failed: ${
        messageOf(event.error)
      } — retrying in ${duration(event.retryInMs)}`
    case "TaskFailed":
      return `  ✗ ${label(names, event.taskId)} failed: ${messageOf(event.error)}`
    case "TaskSkipped":
      return `  ↷ ${label(names, event.taskId)} skipped: ${escape(event.reason)}`
    case "TaskCancelled":
      return `  ■ ${label(names, event.taskId)} cancelled`
    case "TaskOutput":
      return `    ${escape(event.taskId)} │ ${escape(event.text.replace(/\n$/, ""))}`
    case "RunCompleted":
      return `✔ run ${event.runId} completed${
        event.outputs !== null && typeof event.outputs === "object" && Object.keys(event.outputs).length > 0
          ? `  outputs: ${preview(event.outputs, 100)}`
          : ""
      }`
    case "RunFailed":
      return `✘ run ${event.runId} failed: ${escape(event.error.message)}`
    case "RunCancelled":
      return `■ run ${event.runId} cancelled: ${escape(event.reason)}`
    case "RunTimedOut":
      return `⏱ run ${event.runId} timed out after ${duration(event.timeoutMs)}`
  }
}

/** A fixed-width table. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()
  return [line(header), ...rows.map(line)].join("\n")
}

const time = (ms: number | undefined): string =>
  ms === undefined ? "-" : new Date(ms).toISOString().replace("T", " ").slice(0, 19)

/** The `status` view of a run. */
export const renderStatus = (run: Run.RunRecord, tasks: ReadonlyArray<Run.TaskRecord>): string => {
  const took = run.startedAt !== undefined && run.finishedAt !== undefined
    ? duration(run.finishedAt - run.startedAt)
    : "-"
  const head = [
    `run       ${run.id}`,
    `workflow  ${escape(run.name)} (${escape(run.workflowId)})`,
    `status    ${run.status}${run.error === undefined ? "" : ` — ${escape(run.error.message)}`}`,
    `created   ${time(run.createdAt)}   took ${took}`,
    ...(run.outputs !== undefined && JSON.stringify(run.outputs) !== "{}"
      ? [`outputs   ${preview(run.outputs, 100)}`]
      : [])
  ]
  const rows = tasks.map((t) => [
    escape(t.taskId),
    escape(t.method),
    t.status,
    String(t.attempts),
    t.startedAt !== undefined && t.finishedAt !== undefined ? duration(t.finishedAt - t.startedAt) : "-",
    t.status === "completed"
      ? preview(essence(t.result), 50)
      : t.error === undefined
      ? ""
      : messageOf(t.error).slice(0, 80)
  ])
  return `${head.join("\n")}\n\n${table(["TASK", "METHOD", "STATUS", "ATTEMPTS", "TOOK", "RESULT / ERROR"], rows)}`
}

/** The `list` view of runs. */
export const renderRuns = (runs: ReadonlyArray<Run.RunRecord>): string =>
  runs.length === 0 ? "no runs" : table(
    ["RUN", "WORKFLOW", "STATUS", "TASKS", "CREATED", "TOOK"],
    runs.map((r) => [
      escape(r.id),
      escape(r.name),
      r.status,
      String(r.taskCount),
      time(r.createdAt),
      r.startedAt !== undefined && r.finishedAt !== undefined ? duration(r.finishedAt - r.startedAt) : "-"
    ])
  )
