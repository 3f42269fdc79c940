/**
 * `gleitzeit resume RUN | --all`: continue unfinished runs from the journal; completed tasks are not run again.
 */
import { Args, Command, Options as CliOptions } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Client, type Failure } from "../Client.js"
import * as ExitCode from "../ExitCode.js"
import * as Follow from "../Follow.js"
import * as Options from "../internal/options.js"
import type { Output } from "../Output.js"
import * as Printer from "../Printer.js"

/** The `resume` command. */
export const command = Command.make(
  "resume",
  {
    run: Options.run.pipe(Args.optional),
    all: CliOptions.boolean("all").pipe(
      CliOptions.withDescription("resume every unfinished run no live process owns (default: only RUN)")
    ),
    json: Options.json,
    verbose: Options.verbose
  },
  ({ all, json, run, verbose }): Effect.Effect<
    void,
    Failure | ExitCode.RunEnded | ExitCode.UsageError,
    Client | Output
  > =>
    Effect.gen(function*() {
      const client = yield* Client
      if (all) {
        const resumed = yield* client.resumeAll
        yield* Console.log(resumed.length === 0 ? "nothing to resume" : `resumed ${resumed.join(", ")}`)
        const outcomes = yield* Effect.forEach(resumed, (id) => Effect.orDie(client.wait(id)))
        for (const o of outcomes) yield* Console.log(`${o.runId}: ${o.status}`)
        const unfinished = outcomes.find((o) => o.status !== "completed")
        if (unfinished !== undefined) return yield* new ExitCode.RunEnded({ status: unfinished.status })
        return
      }
      if (Option.isNone(run)) return yield* new ExitCode.UsageError({ message: "give a run id, or --all" })
      const runId = run.value
      const afterSeq = yield* client.lastSeq(runId)
      yield* client.resume(runId)
      const workflow = yield* client.workflow(runId)
      const outcome = yield* Follow.follow(runId, { afterSeq, names: Printer.namesOf(workflow), quiet: json, verbose })
      yield* Follow.finish(outcome, json)
    })
).pipe(Command.withDescription("Resume an unfinished run (e.g. after a crash); completed tasks are not run again"))
