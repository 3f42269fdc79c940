/**
 * Shared helpers of the core tests: loading workflows from text and locating text in a document.
 */
import { assert } from "@effect/vitest"
import { DemoToolsProtocol, HttpProtocol, Protocol, WorkflowError, WorkflowLoader } from "@gleitzeit/core"
import * as Effect from "effect/Effect"

/** The catalog of the methods core itself defines. */
export const catalog = Protocol.catalog([HttpProtocol.spec, DemoToolsProtocol.spec])

/** Joins lines into a YAML document (keeps indentation readable in tests). */
export const yaml = (...lines: ReadonlyArray<string>): string => lines.join("\n") + "\n"

/** Loads text that must load, failing the test with every issue otherwise. */
export const load = (text: string, options: WorkflowLoader.Options = {}) =>
  WorkflowLoader.load(text, options).pipe(
    Effect.catchAll((error) => Effect.die(new Error(`expected the workflow to load: ${error.message}`)))
  )

/** Loads text that must fail validation and returns the validation error. */
export const invalid = (text: string, options: WorkflowLoader.Options = {}) =>
  WorkflowLoader.load(text, options).pipe(
    Effect.matchEffect({
      onSuccess: () => Effect.die(new Error("expected the workflow to be invalid, but it loaded")),
      onFailure: (error) =>
        error._tag === "WorkflowValidationError"
          ? Effect.succeed(error)
          : Effect.die(new Error(`expected a validation error, got ${error._tag}: ${error.message}`))
    })
  )

/** Loads text that must fail to parse and returns the parse error. */
export const unparsable = (text: string, options: WorkflowLoader.Options = {}) =>
  WorkflowLoader.load(text, options).pipe(
    Effect.matchEffect({
      onSuccess: () => Effect.die(new Error("expected a parse error, but the workflow loaded")),
      onFailure: (error) =>
        error._tag === "WorkflowParseError"
          ? Effect.succeed(error)
          : Effect.die(new Error(`expected a parse error, got ${error._tag}: ${error.message}`))
    })
  )

/** The 1-based line and column where the `occurrence`-th (0-based) `needle` starts in `text`. */
export const positionOf = (text: string, needle: string, occurrence = 0): { line: number; column: number } => {
  let index = -1
  for (let i = 0; i <= occurrence; i++) {
    index = text.indexOf(needle, index + 1)
    if (index < 0) throw new Error(`'${needle}' (occurrence ${occurrence}) is not in the text`)
  }
  const before = text.slice(0, index).split("\n")
  return { line: before.length, column: before[before.length - 1]!.length + 1 }
}

/** The single issue at `path`, failing the test when there is none or several. */
export const issueAt = (error: WorkflowError.WorkflowValidationError, path: string): WorkflowError.Issue => {
  const found = error.issues.filter((issue) => issue.path === path)
  assert.strictEqual(
    found.length,
    1,
    `expected one issue at '${path}', got: ${error.issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`
  )
  return found[0]!
}

/** Asserts that an issue (or warning) points at the start of `needle` in `text`. */
export const assertAt = (
  issue: WorkflowError.Issue,
  text: string,
  needle: string,
  occurrence = 0
): void => {
  const expected = positionOf(text, needle, occurrence)
  assert.deepStrictEqual(
    { line: issue.line, column: issue.column },
    expected,
    `${issue.path}: ${issue.message} should point at '${needle}'`
  )
}
