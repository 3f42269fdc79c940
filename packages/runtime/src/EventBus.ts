/**
 * The live stream of run events. The journal publishes each batch after it committed it, so every event a
 * subscriber sees is already durable. Embedded mode uses an in-process PubSub; the cluster fans out over Redis.
 */
import { Event } from "@gleitzeit/core"
import { Redis } from "@gleitzeit/providers"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import * as Queue from "effect/Queue"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
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

/** What crosses Redis: a publisher's batch of events, tagged with the publishing process. */
const Batch = Schema.parseJson(Schema.Struct({ origin: Schema.String, events: Schema.Array(Event.Event) }))

/** A random id for this bus, telling its own batches apart from other processes' on the shared channel. */
const makeOrigin = Effect.map(
  Effect.all(Array.from({ length: 4 }, () => Random.nextIntBetween(0, 0x10000))),
  (parts) => parts.map((n) => n.toString(16).padStart(4, "0")).join("")
)

/**
 * Builds a bus shared through Redis (channel `<prefix>events`). Local subscribers get this process's events at once
 * from an in-process PubSub, and every other process's events from the channel: one PUBLISH per batch, sent in
 * order by one fiber, each batch tagged with this bus's origin so it is not delivered twice here. Publishing never
 * fails the journal: when Redis is away the batch is logged as lost to the cluster (followers poll the journal) and
 * local delivery goes on.
 */
export const makeRedis: Effect.Effect<
  EventBus["Type"],
  Redis.RedisUnavailable | Redis.RedisError,
  Redis.Redis | Scope.Scope
> = Effect.gen(function*() {
  const redis = yield* Redis.Redis
  const channel = redis.key("events")
  const origin = yield* makeOrigin
  const local = yield* Effect.acquireRelease(PubSub.unbounded<Event.Event>(), PubSub.shutdown)
  const outbox = yield* Effect.acquireRelease(Queue.unbounded<ReadonlyArray<Event.Event>>(), Queue.shutdown)

  const incoming = yield* redis.subscribe(channel)
  yield* Queue.take(incoming).pipe(
    Effect.flatMap(Schema.decode(Batch)),
    Effect.flatMap((batch) => batch.origin === origin ? Effect.void : PubSub.publishAll(local, batch.events)),
    Effect.catchTag("ParseError", (error) => Effect.logWarning(`event bus: dropped an undecodable batch: ${error}`)),
    Effect.forever,
    Effect.forkScoped
  )

  // Batches waiting together go out as one message; one fiber keeps them in publication order.
  yield* Effect.gen(function*() {
    const first = yield* Queue.take(outbox)
    const rest = yield* Queue.takeAll(outbox)
    const events = [...first, ...Array.from(rest).flat()]
    yield* Schema.encode(Batch)({ origin, events }).pipe(
      Effect.flatMap((text) => redis.use("publish", (c) => c.publish(channel, text))),
      Effect.catchAll((error) =>
        Effect.logWarning(
          `event bus: ${events.length} events not shared through Redis (local subscribers have them): ${error.message}`
        )
      )
    )
  }).pipe(Effect.forever, Effect.forkScoped)

  return EventBus.of({
    publish: (events) =>
      events.length === 0
        ? Effect.void
        : Effect.zipRight(PubSub.publishAll(local, events), Queue.offer(outbox, events)).pipe(Effect.asVoid),
    subscribe: PubSub.subscribe(local)
  })
})

/** A bus shared through Redis by every process on the same key prefix. */
export const layerRedis: Layer.Layer<EventBus, Redis.RedisUnavailable | Redis.RedisError, Redis.Redis> = Layer.scoped(
  EventBus,
  makeRedis
)
