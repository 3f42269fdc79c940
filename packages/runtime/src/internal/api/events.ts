/**
 * A run's events as Server-Sent Events. Each event's `id` is its sequence number in the run's journal, so a client
 * that reconnects with `Last-Event-ID` gets exactly the events after it: nothing missed, nothing twice. Replayed
 * events come from the journal, live ones (streamed tokens included) from the event bus; idle streams carry a
 * keep-alive comment so proxies do not close them.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { Event } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type { EventBus } from "../../EventBus.js"
import type { Journal } from "../../Journal.js"
import * as RunLog from "../../RunLog.js"

const encoder = new TextEncoder()

/** One event as an SSE frame. */
export const frame = (event: Event.Event): string =>
  `id: ${event.seq}\nevent: ${event._tag}\ndata: ${JSON.stringify(event)}\n\n`

/** The sequence number a `Last-Event-ID` header names, if it names one. */
export const lastEventId = (header: string | undefined): number | undefined => {
  if (header === undefined || !/^\d{1,15}$/.test(header.trim())) return undefined
  return Number(header.trim())
}

/** The SSE response for a run's events after `afterSeq`, open until the run ends when `follow` is set. */
export const response = (
  runId: string,
  options: { readonly afterSeq: number; readonly follow: boolean; readonly heartbeatSeconds: number }
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Journal | EventBus> =>
  Effect.map(Effect.context<Journal | EventBus>(), (context) => {
    const events = RunLog.events(runId, { afterSeq: options.afterSeq, follow: options.follow }).pipe(
      Stream.map(frame)
    )
    const keepAlive = Stream.fromSchedule(Schedule.spaced(`${options.heartbeatSeconds} seconds`)).pipe(
      Stream.as(": keep-alive\n\n")
    )
    const body = Stream.merge(Stream.make("retry: 1000\n\n").pipe(Stream.concat(events)), keepAlive, {
      haltStrategy: "left"
    }).pipe(Stream.map((text) => encoder.encode(text)), Stream.provideContext(context))
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })
