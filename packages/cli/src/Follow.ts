/**
 * Following a run to its end: its progress shown as it happens (a live region on a terminal, plain lines
 * otherwise), the outcome returned; Ctrl-C cancels the run. Shared by `run`, `submit --wait` and `resume`.
 */
import type { Json, Run } from "@gleitzeit/core"
import type { Engine } from "@gleitzeit/runtime"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { Client, type RunView } from "./Client.js"
import * as ExitCode from "./ExitCode.js"
import { Output } from "./Output.js"
import * as Printer from "./Printer.js"
import * as Progress from "./Progress.js"

/** How progress is shown. */
export interface Options {
  /** The events after this sequence number (0: all). */
  readonly afterSeq: number
  /** Task names and methods, for the lines printed. */
  readonly names: Printer.TaskNames
  /** Print nothing while following (`--json`). */
  readonly quiet: boolean
  /** Streamed output in full (`--verbose`). */
  readonly verbose: boolean
}

/** How often the live region is redrawn. */
const frame = "150 millis"
/** Without a live region, how long a task runs before a line says it still does (and how often it is repeated). */
const heartbeatMs = 30_000

type Tick = { readonly _tag: "Tick" }

/** Draws the scrolling lines and the live region of a terminal: the old region is erased first. */
const makeScreen = Effect.gen(function*() {
  const output = yield* Output
  let height = 0
  const draw = (lines: ReadonlyArray<string>, region: ReadonlyArray<string>) =>
    Effect.suspend(() => {
      if (lines.length === 0 && region.length === 0 && height === 0) return Effect.void
      const erase = height > 0 ? `\u001b[${height}A\r\u001b[J` : ""
      const text = [...lines, ...region].map((line) => `${line}\n`).join("")
      height = region.length
      return output.write(erase + text)
    })
  return { draw, interactive: output.interactive, columns: output.columns }
})

/** Prints a run's progress until it ends (or forever, when not quiet and the run never ends). */
const show = (runId: string, options: Options) =>
  Effect.gen(function*() {
    const client = yield* Client
    const screen = yield* makeScreen
    const progress = Progress.make({ names: options.names, interactive: screen.interactive, verbose: options.verbose })
    const events = client.events(runId, { afterSeq: options.afterSeq, follow: true })
    const ticks = Stream.tick(screen.interactive ? frame : "1 second").pipe(Stream.map((): Tick => ({ _tag: "Tick" })))
    let lastBeat = 0
    // The region is erased when following stops (end of run, Ctrl-C), so what follows starts on a clean line.
    yield* Effect.addFinalizer(() => screen.interactive ? screen.draw([], []) : Effect.void)
    yield* events.pipe(
      Stream.merge(ticks, { haltStrategy: "left" }),
      Stream.runForEach((item) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const lines = item._tag === "Tick" ? [] : progress.event(item)
          if (screen.interactive) return yield* screen.draw(lines, progress.region(now, screen.columns()))
          for (const line of lines) yield* Console.log(line)
          if (item._tag === "Tick" && now - lastBeat >= heartbeatMs) {
            const beats = progress.heartbeat(now, heartbeatMs)
            if (beats.length > 0) lastBeat = now
            for (const line of beats) yield* Console.log(line)
          }
        })
      )
    )
    if (progress.truncated()) yield* Console.log(`  (a whole result: gleitzeit result ${runId} TASK)`)
  })

/** Shows a run's progress as it happens until it ends, and returns its outcome; Ctrl-C cancels the run. */
export const follow = (runId: string, options: Options) =>
  Effect.scoped(Effect.gen(function*() {
    const client = yield* Client
    const printer = options.quiet ? undefined : yield* Effect.forkScoped(Effect.scoped(show(runId, options)))
    const outcome = yield* client.wait(runId).pipe(
      Effect.onInterrupt(() =>
        Effect.gen(function*() {
          if (printer !== undefined) yield* Fiber.interrupt(printer)
          yield* client.cancel(runId, "interrupted (Ctrl-C)").pipe(
            Effect.zipRight(Console.error(`■ run ${runId} cancelled (Ctrl-C)`)),
            Effect.ignore
          )
        })
      ),
      Effect.orDie
    )
    if (printer !== undefined) yield* Fiber.join(printer)
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
