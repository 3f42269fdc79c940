/**
 * Following a run's events: replay from the journal after an offset, then live. Works for runs executing in this
 * process (live from the event bus) and in another process sharing the journal (by reading the journal as it grows).
 */
import { Event, Run } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import { EventBus } from "./EventBus.js"
import { Journal } from "./Journal.js"

/** How often the journal is read for runs executing elsewhere. */
const pollInterval = "100 millis"

/**
 * The events of a run after `afterSeq`, in order, ending with the run's final event. When `follow` is false the
 * stream ends with what the journal holds now.
 */
export const events = (
  runId: string,
  options: { readonly afterSeq?: number; readonly follow?: boolean } = {}
): Stream.Stream<Event.Event, never, Journal | EventBus> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const journal = yield* Journal
    const bus = yield* EventBus
    // Subscribe before reading the journal so nothing published in between is missed.
    const live = yield* bus.subscribe
    // Read before the events: a run that had ended then has all its events journaled (even past `afterSeq`).
    const record = yield* journal.run(runId)
    const replayed = yield* journal.events(runId, options.afterSeq ?? 0)
    let last = replayed.length > 0 ? replayed[replayed.length - 1]!.seq : options.afterSeq ?? 0
    const ended = replayed.some(Event.isFinal) || (Option.isSome(record) && Run.isFinalRun(record.value.status))
    // An unknown run has nothing to follow.
    if (!options.follow || ended || Option.isNone(record)) return Stream.fromIterable(replayed)

    // Live: whichever source delivers first (bus in-process, journal for other processes), deduplicated by seq.
    const fromBus = Stream.fromQueue(live).pipe(Stream.filter((e) => e.runId === runId))
    const fromJournal = Stream.repeatEffect(
      Effect.zipRight(Effect.sleep(pollInterval), Effect.suspend(() => journal.events(runId, last)))
    ).pipe(Stream.flattenIterables)
    const merged = Stream.merge(fromBus, fromJournal).pipe(
      Stream.filter((e) => {
        if (e.seq <= last) return false
        last = e.seq
        return true
      }),
      Stream.takeUntil(Event.isFinal)
    )
    return Stream.concat(Stream.fromIterable(replayed), merged)
  }))

/** Drains a queue into an array (helper for tests and printers). */
export const drain = <A>(queue: Queue.Dequeue<A>) => Queue.takeAll(queue)
