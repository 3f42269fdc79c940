/**
 * Task priority. Written as `low|normal|high|urgent` or as the predecessor's number (1 → high, 2 → normal,
 * 3 → low); held as a rank where a larger number runs first.
 */
import * as Schema from "effect/Schema"

/** The named priorities. */
export const Name = Schema.Literal("low", "normal", "high", "urgent")

/** The named priorities. */
export type Name = typeof Name.Type

/** Rank of each named priority (larger runs first). */
export const ranks: Readonly<Record<Name, number>> = { low: 0, normal: 1, high: 2, urgent: 3 }

/** The default rank. */
export const normal = ranks.normal

/** Rank of a predecessor-style number: 1 → high, 2 → normal, 3 and above → low, 0 and below → urgent. */
export const rankOfNumber = (n: number): number =>
  n <= 0 ? ranks.urgent : n <= 1 ? ranks.high : n <= 2 ? ranks.normal : ranks.low

/** The name of a rank (for display). */
export const nameOf = (rank: number): Name => rank >= 3 ? "urgent" : rank >= 2 ? "high" : rank >= 1 ? "normal" : "low"

/** Priority as written in a workflow: a name or a number. */
export const Input = Schema.Union(Name, Schema.Number)

/** The rank of a written priority. */
export const rankOf = (input: typeof Input.Type): number =>
  typeof input === "number" ? rankOfNumber(input) : ranks[input]
