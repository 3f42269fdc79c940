/**
 * `gleitzeit submit FILE`: hand a workflow to the cluster and print its run id; `--wait` follows it like `run`.
 */
import { Command, Options as CliOptions } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as CliConfig from "../CliConfig.js"
import { Client, type Failure } from "../Client.js"
import * as ExitCode from "../ExitCode.js"
import * as Follow from "../Follow.js"
import * as Options from "../internal/options.js"
import * as Workflow from "../internal/workflow.js"
import type { Output } from "../Output.js"
import * as Printer from "../Printer.js"
import { WorkflowDocument } from "../WorkflowFile.js"

/** The `submit` command. */
export const command = Command.make(
  "submit",
  {
    file: Options.file,
    wait: CliOptions.boolean("wait").pipe(
      CliOptions.withDescription("follow the run to its end, as `run` does (default: print the run id and return)")
    ),
    json: Options.json,
    verbose: Options.verbose
  },
  (
    { json, verbose, wait }
  ): Effect.Effect<
    void,
    Failure | ExitCode.RunEnded | ExitCode.UsageError,
    Client | WorkflowDocument | CliConfig.Configuration | Output
  > =>
    Effect.gen(function*() {
      const config = yield* CliConfig.Configuration
      if (!CliConfig.isCluster(config.settings.database)) {
        return yield* new ExitCode.UsageError({
          message:
            "submit needs a cluster: set `database` to its postgres:// URL (gleitzeit.yaml or GLEITZEIT_DATABASE)"
        })
      }
      const client = yield* Client
      const validated = yield* client.validate(yield* WorkflowDocument)
      yield* Workflow.printNotes(validated, json)
      const runId = yield* client.submit(validated)
      if (!wait) return yield* Console.log(json ? JSON.stringify({ runId }) : runId)
      if (!json) yield* Console.log(`▶ run ${runId} submitted`)
      const outcome = yield* Follow.follow(runId, {
        afterSeq: 0,
        names: Printer.namesOf(validated.workflow),
        quiet: json,
        verbose
      })
      yield* Follow.finish(outcome, json)
    })
).pipe(Command.withDescription("Hand a workflow to the cluster and print its run id; --wait follows it to the end"))
