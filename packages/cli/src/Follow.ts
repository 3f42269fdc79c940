/**
 * Following a run to its end: its events printed as they happen, the outcome returned; Ctrl-C cancels the run.
 * Shared by `run`, `submit --wait` and `resume`.
 */
import type { Json, Run } from "@gleitzeit/core"
import type { Engine } from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Client, type RunView } from "./Client.js"
import * as ExitCode from "./ExitCode.js"
import * as Printer from "./Printer.js"

/** How progress is shown. */
export interface Options {
  /** The events after this sequence number (0: all). */
  readonly afterSeq: number
  /** Task names and methods, for the lines printed. */
  readonly names: Printer.TaskNames
  /** Print nothing while following (`--json`). */
  readonly quiet: boolean
}

/** Prints a run's events as they happen until it ends, and returns its outcome; Ctrl-C cancels the run. */
export const follow = (runId: string, options: Options) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Client
    const printer = yield* client.events(runId, { afterSeq: options.afterSeq, follow: true }).pipe(
      Stream.runForEach((event) => {
        const line = options.quiet ? undefined : Printer.renderEvent(event, options.names)
        return line === undefined ? Effect.void : Console.log(line)
      }),
      Effect.forkScoped
    )
    const outcome = yield* client.wait(runId).pipe(
      Effect.onInterrupt(() =>
        client.cancel(runId, "interrupted (Ctrl-C)").pipe(
          Effect.zipRight(Console.error(`■ run ${runId} cancelled (Ctrl-C)`)),
          Effect.ignore
        )
      ),
      Effect.orDie
    )
    yield* Fiber.join(printer)
    return outcome
  }))

/** The JSON summary of a run (`--json` of run, status, list, submit --wait, resume). */
export interface Summary {
  readonly runId: string
  readonly workflow: string
  readonly status: Run.RunStatus
  readonly outputs: Json.Json
  readonly error: Run.RunError | null
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  readonly tasks: ReadonlyArray<{
    readonly id: string
    readonly name: string
    readonly method: string
    readonly status: Run.TaskStatus
    readonly attempts: number
    readonly result: Json.Json
    readonly error: Json.Json
  }>
}

/** The JSON summary of a run. */
export const summary = (view: RunView): Summary => ({
  runId: view.run.id,
  workflow: view.run.name,
  status: view.run.status,
  outputs: view.run.outputs ?? null,
  error: view.run.error ?? null,
  createdAt: view.run.createdAt,
  startedAt: view.run.startedAt ?? null,
  finishedAt: view.run.finishedAt ?? null,
  tasks: view.tasks.map((t: Run.TaskRecord) => ({
    id: t.taskId,
    name: t.name,
    method: t.method,
    status: t.status,
    attempts: t.attempts,
    result: t.result ?? null,
    error: t.error ?? null
  }))
})

/** Ends a followed run: its JSON summary when asked, and a non-zero exit when it did not complete. */
export const finish = (outcome: Engine.Outcome, json: boolean) =>
  Effect.gen(function*() {
    const client = yield* Client
    if (json) yield* Console.log(JSON.stringify(summary(yield* Effect.orDie(client.run(outcome.runId))), null, 2))
    if (outcome.status !== "completed") return yield* new ExitCode.RunEnded({ status: outcome.status })
  })
