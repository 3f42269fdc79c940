/**
 * `gleitzeit validate FILE`: check a workflow against the configured providers without running or starting
 * anything it declares; every problem with its line and column.
 */
import { Command } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Client, type Failure } from "../Client.js"
import * as Options from "../internal/options.js"
import * as Workflow from "../internal/workflow.js"
import * as Printer from "../Printer.js"
import { WorkflowDocument } from "../WorkflowFile.js"

/** The `validate` command. */
export const command = Command.make(
  "validate",
  { file: Options.file },
  ({ file }): Effect.Effect<void, Failure, Client | WorkflowDocument> =>
    Effect.gen(function*() {
      const client = yield* Client
      const validated = yield* client.validate(yield* WorkflowDocument)
      yield* Workflow.printNotes(validated, false)
      for (const issue of validated.unserved) {
        yield* Console.error(`warning: ${Printer.escape(issue.render(file), { keepNewlines: true })}`)
      }
      const tasks = validated.workflow.tasks.length
      yield* Console.log(
        `✔ ${Printer.escape(file)} is valid: ${Printer.escape(validated.workflow.name)}, ${tasks} task${
          tasks === 1 ? "" : "s"
        }`
      )
    })
).pipe(Command.withDescription("Check a workflow file and report every problem with its line and column"))
