/**
 * What a followed run shows, as text: the scrolling lines each event adds, and (on a terminal) a live region of the
 * tasks running with their elapsed time, tokens per second for LLM tasks and the tail of their streamed text.
 * Streamed output is shown per task as text, never a line per token: complete lines with `verbose`, otherwise only
 * in the live region. A failed task's traceback follows its failure line. Pure state: the caller draws.
 */
import type { Event, Json } from "@gleitzeit/core"
import * as Printer from "./Printer.js"

/** How progress is shown. */
export interface Options {
  /** Task names and methods. */
  readonly names: Printer.TaskNames
  /** On a terminal: running tasks live in the region instead of a `→` line each. */
  readonly interactive: boolean
  /** Streamed output in full, as lines (otherwise only its tail, in the live region). */
  readonly verbose: boolean
}

interface Running {
  readonly taskId: string
  readonly attempt: number
  readonly startedAt: number
  tokens: number
  firstTokenAt: number | undefined
  lastOutputAt: number | undefined
  tail: string
}

const spinner = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
const tailLength = 200

/** The traceback of a task's error (a Python exception), if it has one. */
export const tracebackOf = (error: Json.Json | undefined): string | undefined => {
  if (error === null || typeof error !== "object" || Array.isArray(error)) return undefined
  const reason = (error as { readonly reason?: unknown }).reason
  const traceback = typeof reason === "object" && reason !== null
    ? (reason as { readonly traceback?: unknown }).traceback
    : undefined
  return typeof traceback === "string" && traceback.trim() !== "" ? traceback : undefined
}

/** A progress display's state. */
export interface Progress {
  /** The scrolling lines an event adds (possibly none). */
  readonly event: (event: Event.Event) => ReadonlyArray<string>
  /** The live region at `now` (epoch ms), each line at most `columns` wide; empty when nothing runs. */
  readonly region: (now: number, columns: number) => ReadonlyArray<string>
  /** Tasks running longer than `afterMs` at `now`, as one line each (for output without a live region). */
  readonly heartbeat: (now: number, afterMs: number) => ReadonlyArray<string>
  /** Whether a result was cut short in a line (so `gleitzeit result` is worth mentioning). */
  readonly truncated: () => boolean
}

/** Makes an empty progress display. */
export const make = (options: Options): Progress => {
  const running = new Map<string, Running>()
  const partial = new Map<string, string>()
  let cut = false
  const label = (taskId: string) => {
    const entry = options.names[taskId]
    return entry === undefined || entry.name === taskId
      ? Printer.escape(taskId)
      : `${Printer.escape(taskId)} (${Printer.escape(entry.name)})`
  }
  const streamLine = (taskId: string, line: string) =>
    `    ${Printer.escape(taskId)} │ ${Printer.escape(line.replace(/\r$/, ""))}`

  /** The complete lines of a task's streamed text so far (verbose), keeping the incomplete rest. */
  const take = (taskId: string, text: string): Array<string> => {
    const buffered = (partial.get(taskId) ?? "") + text
    const lines = buffered.split("\n")
    partial.set(taskId, lines.pop()!)
    return lines.map((line) => streamLine(taskId, line))
  }
  /** The rest of a task's streamed text when it ends (verbose). */
  const rest = (taskId: string): Array<string> => {
    const left = partial.get(taskId)
    partial.delete(taskId)
    return left === undefined || left === "" ? [] : [streamLine(taskId, left)]
  }
  const end = (taskId: string) => {
    running.delete(taskId)
    return options.verbose ? rest(taskId) : []
  }

  const event = (e: Event.Event): ReadonlyArray<string> => {
    switch (e._tag) {
      case "TaskStarted": {
        running.set(e.taskId, {
          taskId: e.taskId,
          attempt: e.attempt,
          startedAt: e.at,
          tokens: 0,
          firstTokenAt: undefined,
          lastOutputAt: undefined,
          tail: ""
        })
        if (options.interactive) return []
        const line = Printer.renderEvent(e, options.names)
        return line === undefined ? [] : [line]
      }
      case "TaskOutput": {
        const task = running.get(e.taskId)
        if (task !== undefined) {
          if (e.stream === "token") {
            task.tokens++
            task.firstTokenAt ??= e.at
          }
          task.lastOutputAt = e.at
          task.tail = (task.tail + e.text).slice(-tailLength)
        }
        return options.verbose ? take(e.taskId, e.text) : []
      }
      case "TaskCompleted": {
        const streamed = end(e.taskId)
        const line = Printer.renderEvent(e, options.names)
        if (line !== undefined && line.includes("…")) cut = true
        return line === undefined ? streamed : [...streamed, line]
      }
      case "TaskFailed": {
        const streamed = end(e.taskId)
        const traceback = tracebackOf(e.error)
        return [
          ...streamed,
          `  ✗ ${label(e.taskId)} failed: ${Printer.messageOf(e.error)}`,
          ...(traceback === undefined
            ? []
            : Printer.escape(traceback.trimEnd(), { keepNewlines: true }).split("\n").map((line) => `      ${line}`))
        ]
      }
      case "TaskSkipped":
      case "TaskCancelled":
      case "TaskAttemptFailed": {
        const streamed = end(e.taskId)
        const line = Printer.renderEvent(e, options.names)
        return line === undefined ? streamed : [...streamed, line]
      }
      default: {
        const line = Printer.renderEvent(e, options.names)
        return line === undefined ? [] : [line]
      }
    }
  }

  const region = (now: number, columns: number): ReadonlyArray<string> => {
    const frame = spinner[Math.floor(now / 100) % spinner.length]!
    return [...running.values()].map((task) => {
      const method = Printer.escape(options.names[task.taskId]?.method ?? "")
      const elapsed = Printer.duration(Math.max(0, now - task.startedAt))
      const speed = task.tokens > 1 && task.firstTokenAt !== undefined && now > task.firstTokenAt
        ? `  ${task.tokens} tok  ${(task.tokens / ((now - task.firstTokenAt) / 1000)).toFixed(1)} tok/s`
        : ""
      const attempt = task.attempt > 1 ? ` (attempt ${task.attempt})` : ""
      const head = `  ${frame} ${label(task.taskId)} ${method}${attempt}  ${elapsed}${speed}`
      const tail = Printer.escape(task.tail.replace(/\s+/g, " ").trim())
      const room = columns - head.length - 4
      const text = tail === "" || room < 10 ? "" : `  │ ${tail.length > room ? `…${tail.slice(-(room - 1))}` : tail}`
      return fit(`${head}${text}`, columns)
    })
  }

  const heartbeat = (now: number, afterMs: number): ReadonlyArray<string> =>
    [...running.values()].filter((task) => now - task.startedAt >= afterMs).map((task) =>
      `  ⋯ ${label(task.taskId)} running for ${Printer.duration(now - task.startedAt)}${
        task.tokens > 0 ? `, ${task.tokens} token${task.tokens === 1 ? "" : "s"} so far` : ""
      }`
    )

  return { event, region, heartbeat, truncated: () => cut }
}

/** A line cut to `columns` characters (a live region must not wrap, or redrawing it goes wrong). */
const fit = (line: string, columns: number): string =>
  [...line].length <= columns ? line : `${[...line].slice(0, Math.max(1, columns - 1)).join("")}…`
