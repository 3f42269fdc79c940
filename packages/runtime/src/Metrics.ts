/**
 * The `/metrics` body in the Prometheus text format. For now it counts the journal's runs by workflow and status
 * (a gauge: the journal is the source of truth, so every node answers the same); the telemetry work adds the
 * process's Effect metrics (task durations, queue depth, token usage…) to the same document.
 */
import * as Effect from "effect/Effect"
import { Journal } from "./Journal.js"

/** A label value, escaped as the text format requires. */
const label = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")

/** The Prometheus text of the journal's run counts. */
export const prometheus: Effect.Effect<string, never, Journal> = Effect.gen(function*() {
  const journal = yield* Journal
  const counts = yield* journal.counts
  const lines = [
    "# HELP gleitzeit_runs Runs in the journal, by workflow name and status.",
    "# TYPE gleitzeit_runs gauge",
    ...counts.map((c) => `gleitzeit_runs{workflow="${label(c.name)}",status="${c.status}"} ${c.count}`)
  ]
  return `${lines.join("\n")}\n`
})
