/**
 * A single-consumer mailbox: producers `offer` synchronously (also from outside any fiber, e.g. the journal's
 * commit callback); the consumer takes everything pending at once, suspending while it is empty.
 */
import * as Effect from "effect/Effect"

/** A mailbox of messages of type A. */
export class Mailbox<A> {
  private items: Array<A> = []
  private waiter: ((items: Effect.Effect<Array<A>>) => void) | undefined

  /** Adds a message (synchronous, never blocks). */
  offer(item: A): void {
    this.items.push(item)
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      const items = this.items
      this.items = []
      waiter(Effect.succeed(items))
    }
  }

  /** Takes every pending message, waiting for at least one. */
  readonly takeAll: Effect.Effect<Array<A>> = Effect.suspend(() => {
    if (this.items.length > 0) {
      const items = this.items
      this.items = []
      return Effect.succeed(items)
    }
    return Effect.async<Array<A>>((resume) => {
      this.waiter = resume
      return Effect.sync(() => {
        if (this.waiter === resume) this.waiter = undefined
      })
    })
  })

  /** Takes every pending message without waiting. */
  drain(): Array<A> {
    const items = this.items
    this.items = []
    return items
  }
}
