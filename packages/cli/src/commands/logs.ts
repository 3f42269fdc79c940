/**
 * `gleitzeit logs RUN`: a run's events with their times; `--follow` until it ends (across processes).
 */
import { Command, Options as CliOptions } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Client, type Failure } from "../Client.js"
import * as Options from "../internal/options.js"
import * as Printer from "../Printer.js"
import * as Progress from "../Progress.js"

/** The `logs` command. */
export const command = Command.make(
  "logs",
  {
    run: Options.run,
    follow: CliOptions.boolean("follow").pipe(
      CliOptions.withAlias("f"),
      CliOptions.withDescription("keep printing until the run ends (default: print what is journaled and return)")
    )
  },
  ({ follow, run: runId }): Effect.Effect<void, Failure, Client> =>
    Effect.gen(function*() {
      const client = yield* Client
      // Streamed output as lines of text per task, as `run --verbose` shows it (never a line per token).
      const progress = Progress.make({
        names: Printer.namesOf(yield* client.workflow(runId)),
        interactive: false,
        verbose: true
      })
      yield* client.events(runId, { follow }).pipe(
        Stream.runForEach((event) =>
          Effect.forEach(
            progress.event(event),
            (line) => Console.log(`${new Date(event.at).toISOString().slice(11, 23)} ${line}`),
            { discard: true }
          )
        )
      )
    })
).pipe(Command.withDescription("Print a run's events; --follow keeps printing until it ends"))
