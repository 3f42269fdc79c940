/**
 * The live stream of run events. The journal publishes each batch after it committed it, so every event a
 * subscriber sees is already durable. Embedded mode uses an in-process PubSub; the cluster fans out over Redis.
 */
import type { Event } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"

/** The event bus service. */
export class EventBus extends Context.Tag("@gleitzeit/runtime/EventBus")<EventBus, {
  /** Publishes committed events, in order. */
  readonly publish: (events: ReadonlyArray<Event.Event>) => Effect.Effect<void>
  /** A subscription receiving every event published after it was taken, until its scope closes. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Event.Event>, never, Scope.Scope>
}>() {}

/** Builds an in-process bus. */
export const makeMemory = Effect.gen(function*() {
  const pubsub = yield* Effect.acquireRelease(PubSub.unbounded<Event.Event>(), PubSub.shutdown)
  return EventBus.of({
    publish: (events) => events.length === 0 ? Effect.void : Effect.asVoid(PubSub.publishAll(pubsub, events)),
    subscribe: PubSub.subscribe(pubsub)
  })
})

/** An in-process bus. */
export const layerMemory: Layer.Layer<EventBus> = Layer.scoped(EventBus, makeMemory)
