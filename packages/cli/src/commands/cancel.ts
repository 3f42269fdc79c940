/**
 * `gleitzeit cancel RUN`: cancel an unfinished run; running attempts are interrupted.
 */
import { Command } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Client, type Failure } from "../Client.js"
import * as Options from "../internal/options.js"

/** The `cancel` command. */
export const command = Command.make(
  "cancel",
  { run: Options.run },
  ({ run: runId }): Effect.Effect<void, Failure, Client> =>
    Effect.gen(function*() {
      const client = yield* Client
      const outcome = yield* client.cancel(runId, "cancelled by request")
      yield* Console.log(`■ run ${runId} ${outcome.status}`)
    })
).pipe(Command.withDescription("Cancel an unfinished run"))
