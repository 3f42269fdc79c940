/**
 * The secrets a workflow may name as `${secrets.NAME}`: values the operator configured on the node that executes
 * the attempt (`secrets:` in gleitzeit.yaml, `GLEITZEIT_SECRET_<NAME>` variables). The executor resolves them after
 * the engine's substitution, so a value is never journaled, never part of a message between nodes, and is shown as
 * `***` wherever it comes back (results, errors, streamed output).
 */
import * as Context from "effect/Context"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

/** The secrets service. */
export class Secrets extends Context.Tag("@gleitzeit/runtime/Secrets")<Secrets, {
  /** The value of a secret, or undefined when none by that name is configured. */
  readonly get: (name: string) => Redacted.Redacted<string> | undefined
}>() {}

/** Secrets from a map of names to values. */
export const make = (
  values: Readonly<Record<string, string | Redacted.Redacted<string>>>
): Context.Tag.Service<Secrets> => {
  const byName = new Map<string, Redacted.Redacted<string>>()
  for (const [name, value] of Object.entries(values)) {
    byName.set(name, typeof value === "string" ? Redacted.make(value) : value)
  }
  return Secrets.of({ get: (name) => byName.get(name) })
}

/** A layer of `make(values)` (no secrets by default). */
export const layer = (
  values: Readonly<Record<string, string | Redacted.Redacted<string>>> = {}
): Layer.Layer<Secrets> => Layer.succeed(Secrets, make(values))
