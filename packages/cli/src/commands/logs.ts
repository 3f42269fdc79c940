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
      const names = Printer.namesOf(yield* client.workflow(runId))
      yield* client.events(runId, { follow }).pipe(
        Stream.runForEach((event) => {
          const line = Printer.renderEvent(event, names)
          return line === undefined
            ? Effect.void
            : Console.log(`${new Date(event.at).toISOString().slice(11, 23)} ${line}`)
        })
      )
    })
).pipe(Command.withDescription("Print a run's events; --follow keeps printing until it ends"))
