/**
 * `gleitzeit result RUN [TASK]`: print a whole result — a task's (by id or name), or the run's outputs. Text fields
 * are printed in full, as text; `--json` prints the exact JSON.
 */
import { Args, Command } from "@effect/cli"
import type { Json } from "@gleitzeit/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Client, type Failure } from "../Client.js"
import * as ExitCode from "../ExitCode.js"
import * as Options from "../internal/options.js"
import * as Printer from "../Printer.js"
import * as Progress from "../Progress.js"

/** A result for reading: each field on its own, text in full (indented), other values as JSON. */
export const render = (value: Json.Json): string => {
  if (typeof value === "string") return Printer.escape(value, { keepNewlines: true })
  if (value === null || typeof value !== "object" || Array.isArray(value)) return JSON.stringify(value, null, 2)
  return Object.entries(value).map(([key, field]) => {
    if (typeof field === "string") {
      const text = Printer.escape(field, { keepNewlines: true })
      return text.includes("\n") || text.length > 80
        ? `${Printer.escape(key)}:\n${text.split("\n").map((line) => `  ${line}`).join("\n")}`
        : `${Printer.escape(key)}: ${text}`
    }
    return `${Printer.escape(key)}: ${Printer.escape(JSON.stringify(field))}`
  }).join("\n")
}

/** The `result` command. */
export const command = Command.make(
  "result",
  {
    run: Options.run,
    task: Args.text({ name: "TASK" }).pipe(
      Args.withDescription("a task id or name (default: the run's outputs)"),
      Args.optional
    ),
    json: Options.json
  },
  ({ json, run: runId, task }): Effect.Effect<void, Failure | ExitCode.RunEnded | ExitCode.NotFoundError, Client> =>
    Effect.gen(function*() {
      const client = yield* Client
      const view = yield* client.run(runId)
      if (Option.isNone(task)) {
        const outputs = view.run.outputs ?? null
        return yield* Console.log(json ? JSON.stringify(outputs, null, 2) : render(outputs))
      }
      const wanted = task.value
      const byId = view.tasks.find((t) => t.taskId === wanted)
      const byName = view.tasks.filter((t) => t.name === wanted)
      const record = byId ?? (byName.length === 1 ? byName[0] : undefined)
      if (record === undefined) {
        return yield* new ExitCode.NotFoundError({
          message: byName.length > 1
            ? `${byName.length} tasks of run ${runId} are named '${wanted}'; give an id`
            : `run ${runId} has no task '${wanted}' (tasks: ${view.tasks.map((t) => t.taskId).join(", ")})`
        })
      }
      if (record.status === "completed") {
        return yield* Console.log(json ? JSON.stringify(record.result ?? null, null, 2) : render(record.result ?? null))
      }
      if (record.error !== undefined) {
        const traceback = Progress.tracebackOf(record.error)
        yield* Console.log(
          json
            ? JSON.stringify(record.error, null, 2)
            : traceback === undefined
            ? render(record.error)
            : `${Printer.messageOf(record.error)}\n${Printer.escape(traceback.trimEnd(), { keepNewlines: true })}`
        )
        return yield* new ExitCode.RunEnded({ status: record.status })
      }
      return yield* new ExitCode.NotFoundError({
        message: `task '${wanted}' of run ${runId} has no result: it is ${record.status}`
      })
    })
).pipe(Command.withDescription("Print a task's whole result (or the run's outputs); a failed task's error"))
