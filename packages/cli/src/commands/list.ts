/**
 * `gleitzeit list`: recent runs, newest first.
 */
import { Command, Options as CliOptions } from "@effect/cli"
import { Run } from "@gleitzeit/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Client, type Failure } from "../Client.js"
import * as Follow from "../Follow.js"
import * as Options from "../internal/options.js"
import * as Printer from "../Printer.js"

/** The `list` command. */
export const command = Command.make(
  "list",
  {
    status: CliOptions.choice("status", Run.RunStatus.literals).pipe(
      CliOptions.withDescription("only runs with this status (default: every status)"),
      CliOptions.optional
    ),
    limit: Options.count("limit", { min: 1, max: 10_000 }).pipe(
      CliOptions.withDescription("most runs to list, 1 to 10000 (default: 20)"),
      CliOptions.withDefault(20)
    ),
    json: Options.json
  },
  ({ json, limit, status }): Effect.Effect<void, Failure, Client> =>
    Effect.gen(function*() {
      const client = yield* Client
      const runs = yield* client.list({ status: Option.getOrUndefined(status), limit })
      yield* Console.log(
        json
          ? JSON.stringify(
            runs.map((run) => Follow.summary({ run, tasks: [] })).map(({ tasks: _, ...run }) => run),
            null,
            2
          )
          : Printer.renderRuns(runs)
      )
    })
).pipe(Command.withDescription("List recent runs, newest first"))
