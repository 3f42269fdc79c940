/**
 * The identifier of one execution of a workflow.
 */
import * as Schema from "effect/Schema"

/** Branded run identifier. */
export const RunId = Schema.String.pipe(Schema.minLength(1), Schema.brand("RunId"))

/** Branded run identifier. */
export type RunId = typeof RunId.Type

/** Brands a string as a RunId without checks (for ids that come from the journal). */
export const make = (id: string): RunId => id as RunId
