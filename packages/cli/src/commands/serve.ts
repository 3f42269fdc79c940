/**
 * `gleitzeit serve`: the HTTP API over an embedded engine until SIGTERM or Ctrl-C (then running runs are suspended,
 * to resume on the next start, and it exits 0). The server itself is a layer the composition root provides
 * (`Runtime.serve`).
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { ClusterSharding } from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ExitCode from "../ExitCode.js"
import { ApiServing } from "../Runtime.js"

/** The command's flags. */
export const flags = {
  listen: Options.text("listen").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.withDescription(
      "where to serve the HTTP API (default: api.host:api.port of the configuration, 127.0.0.1:8765)"
    ),
    Options.mapEffect((text) =>
      Option.match(ClusterSharding.parseAddress(text), {
        onNone: () =>
          Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--listen: expected host:port, got '${text}'`))),
        onSome: Effect.succeed
      })
    ),
    Options.optional
  ),
  workflows: Options.directory("workflows", { exists: "yes" }).pipe(
    Options.withPseudoName("DIR"),
    Options.withDescription("directory of workflows the API runs by name, reloaded on change (default: api.workflows)"),
    Options.optional
  )
}

/** The `serve` command. */
export const command = Command.make("serve", flags, () =>
  Effect.gen(function*() {
    const serving = yield* ApiServing
    yield* Console.log(`● serving the API on ${serving.url} (documentation: ${serving.url}/docs)`)
    if (serving.resumed.length > 0) yield* Console.log(`↻ resumed ${serving.resumed.length} unfinished run(s)`)
    return yield* Effect.never.pipe(
      Effect.onInterrupt(() =>
        Effect.zipRight(
          Console.log("◌ stopping: running runs are suspended and resume on the next start"),
          Effect.sync(ExitCode.markStoppedOnRequest)
        )
      )
    )
  })).pipe(Command.withDescription("Serve the HTTP API over an embedded engine (its documentation at /docs)"))
