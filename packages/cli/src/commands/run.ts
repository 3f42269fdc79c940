/**
 * `gleitzeit run FILE`: validate a workflow, run it to the end showing live progress, exit 0 only if it completed.
 */
import { Command } from "@effect/cli"
import * as Effect from "effect/Effect"
import { Client, type Failure } from "../Client.js"
import type * as ExitCode from "../ExitCode.js"
import * as Follow from "../Follow.js"
import * as Options from "../internal/options.js"
import * as Workflow from "../internal/workflow.js"
import type { Output } from "../Output.js"
import * as Printer from "../Printer.js"
import { WorkflowDocument } from "../WorkflowFile.js"

/** The `run` command. */
export const command = Command.make(
  "run",
  { file: Options.file, json: Options.json, verbose: Options.verbose },
  ({ json, verbose }): Effect.Effect<void, Failure | ExitCode.RunEnded, Client | WorkflowDocument | Output> =>
    Effect.gen(function*() {
      const client = yield* Client
      const validated = yield* client.validate(yield* WorkflowDocument)
      yield* Workflow.printNotes(validated, json)
      yield* Workflow.refuseUnserved(validated)
      const runId = yield* client.submit(validated)
      const outcome = yield* Follow.follow(runId, {
        afterSeq: 0,
        names: Printer.namesOf(validated.workflow),
        quiet: json,
        verbose
      })
      yield* Follow.finish(outcome, json)
    })
).pipe(Command.withDescription("Run a workflow file to the end, showing live progress"))
