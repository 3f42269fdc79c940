/**
 * Global admission of task attempts: at most `concurrency` run at once across all runs; when a slot frees, the
 * waiting attempt with the highest priority (then the oldest) takes it. A waiting attempt can be interrupted.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Heap } from "./internal/heap.js"

/** The scheduler service. */
export class Scheduler extends Context.Tag("@gleitzeit/runtime/Scheduler")<Scheduler, {
  /** Runs `effect` once a slot is free, taking waiters by priority (larger first), then arrival. */
  readonly admit: <A, E, R>(priority: number, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Attempts running now. */
  readonly running: () => number
  /** Attempts waiting for a slot. */
  readonly waiting: () => number
}>() {}

interface Waiter {
  readonly priority: number
  readonly order: number
  granted: boolean
  cancelled: boolean
  resume: () => void
}

/** Builds a scheduler with a global concurrency limit. */
export const make = (concurrency: number) =>
  Effect.sync(() => {
    const limit = Math.max(1, Math.floor(concurrency))
    const heap = new Heap<Waiter>((a, b) => a.priority > b.priority || (a.priority === b.priority && a.order < b.order))
    let running = 0
    let waitingCount = 0
    let order = 0

    const release = Effect.sync(() => {
      for (;;) {
        const next = heap.pop()
        if (next === undefined) {
          running--
          return
        }
        if (next.cancelled) continue
        waitingCount--
        next.granted = true
        next.resume()
        return
      }
    })

    const acquire = (priority: number) =>
      Effect.suspend(() => {
        if (running < limit) {
          running++
          return Effect.void
        }
        return Effect.async<void>((resume) => {
          const waiter: Waiter = {
            priority,
            order: order++,
            granted: false,
            cancelled: false,
            resume: () => resume(Effect.void)
          }
          waitingCount++
          heap.push(waiter)
          return Effect.suspend(() => {
            if (waiter.granted) return release
            waiter.cancelled = true
            waitingCount--
            return Effect.void
          })
        })
      })

    return Scheduler.of({
      admit: (priority, effect) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(restore(acquire(priority)), Effect.ensuring(restore(effect), release))
        ),
      running: () => running,
      waiting: () => waitingCount
    })
  })

/** A scheduler layer. */
export const layer = (concurrency: number): Layer.Layer<Scheduler> => Layer.effect(Scheduler, make(concurrency))
