/**
 * `gleitzeit status [RUN]`: a run (default: the latest) and its tasks.
 */
import { Args, Command } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Client, type Failure } from "../Client.js"
import * as ExitCode from "../ExitCode.js"
import * as Follow from "../Follow.js"
import * as Options from "../internal/options.js"
import * as Printer from "../Printer.js"

/** The `status` command. */
export const command = Command.make(
  "status",
  { run: Options.run.pipe(Args.optional), json: Options.json },
  ({ json, run }): Effect.Effect<void, Failure | ExitCode.NotFoundError, Client> =>
    Effect.gen(function*() {
      const client = yield* Client
      const runId = Option.isSome(run) ? run.value : (yield* client.list({ limit: 1 }))[0]?.id
      if (runId === undefined) return yield* new ExitCode.NotFoundError({ message: "no runs yet" })
      const view = yield* client.run(runId)
      yield* Console.log(
        json ? JSON.stringify(Follow.summary(view), null, 2) : Printer.renderStatus(view.run, view.tasks)
      )
    })
).pipe(Command.withDescription("Show a run (default: the latest) and its tasks"))
