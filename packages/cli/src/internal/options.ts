/**
 * Options and arguments several commands share.
 */
import { Args, HelpDoc, Options, ValidationError } from "@effect/cli"
import * as Effect from "effect/Effect"

/** `--json`: a JSON summary on stdout instead of progress. */
export const json = Options.boolean("json").pipe(
  Options.withDescription("print a JSON summary on stdout instead of progress (default: progress)")
)

/** The workflow file argument. */
export const file = Args.text({ name: "FILE" }).pipe(Args.withDescription("the workflow file (YAML or JSON)"))

/** A run id argument. */
export const run = Args.text({ name: "RUN" }).pipe(Args.withDescription("the run id"))

/**
 * A whole number given in decimal digits only, within bounds (`--limit -1`, `--limit 0x10` or `--limit 1e3` are
 * refused, not read as something else).
 */
export const count = (name: string, options: { readonly min: number; readonly max: number }) =>
  Options.text(name).pipe(
    Options.withPseudoName("N"),
    Options.mapEffect((text) => {
      const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
      return Number.isSafeInteger(value) && value >= options.min && value <= options.max
        ? Effect.succeed(value)
        : Effect.fail(
          ValidationError.invalidValue(
            HelpDoc.p(`--${name}: expected a whole number from ${options.min} to ${options.max}, got '${text}'`)
          )
        )
    })
  )

/** `--verbose`: streamed output (LLM tokens, stdout) in full, as lines. */
export const verbose = Options.boolean("verbose").pipe(
  Options.withAlias("v"),
  Options.withDescription("show streamed output (LLM tokens, stdout) in full (default: only its tail, live)")
)
