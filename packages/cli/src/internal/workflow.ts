/**
 * What `run`, `submit` and `validate` do with a validated workflow before it runs: print what the providers and
 * validation noted, and refuse to start tasks no provider here serves.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Unavailable, type Validated } from "../Client.js"
import * as Printer from "../Printer.js"

/** Prints the providers' notes and the warnings (stderr), unless quiet. */
export const printNotes = (validated: Validated, quiet: boolean) =>
  quiet ? Effect.void : Effect.gen(function*() {
    for (const note of validated.notes) yield* Console.error(`note: ${Printer.escape(note)}`)
    for (const warning of validated.warnings) {
      yield* Console.error(
        `warning: ${Printer.escape(warning.render(validated.document.file), { keepNewlines: true })}`
      )
    }
  })

/** Fails (exit 69) when a task's method has no provider here, saying what to configure. */
export const refuseUnserved = (validated: Validated) =>
  validated.unserved.length === 0 ? Effect.void : Effect.fail(
    new Unavailable({
      message: validated.unserved.map((issue) => issue.render(validated.document.file)).join("\n  ")
    })
  )
