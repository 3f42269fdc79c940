/**
 * Global admission of task attempts: at most `concurrency` run at once across all runs; when a slot frees, the
 * waiting request with the highest priority (then the oldest) takes it. Coordinators ask for a slot first and
 * fork a task's fiber only once it has one, so waiting tasks cost no fiber.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Heap } from "./internal/heap.js"

/** The scheduler service. */
export class Scheduler extends Context.Tag("@gleitzeit/runtime/Scheduler")<Scheduler, {
  /** Runs `effect` once a slot is free, taking waiters by priority (larger first), then arrival. */
  readonly admit: <A, E, R>(priority: number, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /**
   * Asks for a slot without waiting. When the ticket is `granted` the slot is the caller's at once; otherwise
   * `onGranted` runs (synchronously, in whoever freed a slot) when it becomes the caller's. The holder gives it
   * back with `release`; `withdraw` cancels a waiting request or gives back a granted slot.
   */
  readonly request: (priority: number, onGranted: () => void) => Ticket
  /** Gives a slot back. */
  readonly release: () => void
  /** Attempts running now. */
  readonly running: () => number
  /** Attempts waiting for a slot. */
  readonly waiting: () => number
}>() {}

/** A request for a slot. */
export interface Ticket {
  /** True when the slot was free and is the caller's already. */
  readonly granted: boolean
  /** Cancels the request if still waiting, or gives the slot back if it was granted. Idempotent. */
  readonly withdraw: () => void
}

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

    const releaseSlot = () => {
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
    }
    const release = Effect.sync(releaseSlot)

    const request = (priority: number, onGranted: () => void): Ticket => {
      if (running < limit) {
        running++
        let given = false
        return {
          granted: true,
          withdraw: () => {
            if (!given) {
              given = true
              releaseSlot()
            }
          }
        }
      }
      const waiter: Waiter = { priority, order: order++, granted: false, cancelled: false, resume: onGranted }
      waitingCount++
      heap.push(waiter)
      return {
        granted: false,
        withdraw: () => {
          if (waiter.cancelled) return
          waiter.cancelled = true
          if (waiter.granted) releaseSlot()
          else waitingCount--
        }
      }
    }

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
      request,
      release: releaseSlot,
      running: () => running,
      waiting: () => waitingCount
    })
  })

/** A scheduler layer. */
export const layer = (concurrency: number): Layer.Layer<Scheduler> => Layer.effect(Scheduler, make(concurrency))
