/**
 * A binary heap ordered by a "comes first" predicate.
 */

/** A binary heap. */
export class Heap<A> {
  private readonly items: Array<A> = []
  constructor(private readonly before: (a: A, b: A) => boolean) {}

  /** Number of items. */
  get size(): number {
    return this.items.length
  }

  /** Adds an item. */
  push(item: A): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(items[i]!, items[parent]!)) break
      const tmp = items[i]!
      items[i] = items[parent]!
      items[parent] = tmp
      i = parent
    }
  }

  /** Removes and returns the first item. */
  pop(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let best = i
      if (l < items.length && this.before(items[l]!, items[best]!)) best = l
      if (r < items.length && this.before(items[r]!, items[best]!)) best = r
      if (best === i) break
      const tmp = items[i]!
      items[i] = items[best]!
      items[best] = tmp
      i = best
    }
    return top
  }
}
