/**
 * How a task's params become what its provider receives, in two passes:
 *
 * 1. `params` (the run's coordinator, before an attempt): every `${task.path}` reference is resolved from journaled
 *    results; `${secrets.NAME}` references are left for the executor; inside Python source (`python/execute`
 *    `code`) substituted values are written as Python literals.
 * 2. `secrets` (the executor, on the node that runs the attempt): `${secrets.NAME}` becomes the secret's value from
 *    that node's configuration. Secret values therefore exist only in the attempt's memory: never in the journal,
 *    the workflow spec or a message between nodes.
 *
 * Nothing a task returned can pose as a secret reference: the first pass escapes every `$` it does not write
 * itself, and the second pass undoes that.
 */
import type * as Either from "effect/Either"
import type { Json } from "./Json.js"
import * as PythonProtocol from "./PythonProtocol.js"
import * as Template from "./Template.js"

const pythonSource = new Map<string, ReadonlyArray<string>>()
for (const method of PythonProtocol.spec.methods) {
  if (method.pythonSource === undefined) continue
  for (const name of [method.name, ...(method.aliases ?? [])]) pythonSource.set(name, method.pythonSource)
}

/** The first pass: task references resolved, secret references deferred, Python source given Python literals. */
export const params = (
  method: string,
  value: Json,
  lookup: (task: string) => Json | undefined
): Either.Either<Json, Template.TemplateError> =>
  Template.resolve(value, lookup, { deferSecrets: true, pythonAt: pythonSource.get(method) ?? [] })

/** The second pass: secret references resolved (and the first pass's escapes undone); the values used come back. */
export const secrets: (
  value: Json,
  secret: (name: string) => string | undefined
) => Either.Either<{ readonly value: Json; readonly used: ReadonlyArray<string> }, Template.TemplateError> =
  Template.resolveSecrets
