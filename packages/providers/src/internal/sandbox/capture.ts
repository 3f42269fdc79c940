/**
 * Bounded capture of a program's output: the first `head` bytes and the last `tail` bytes are kept, the middle is
 * counted and dropped, so a program printing without end costs bounded memory and its last line (the runner's
 * reply) survives.
 */
import type { Output } from "../../Sandbox.js"

/** Collects chunks of one stream. */
export class Capture {
  private readonly headChunks: Array<Buffer> = []
  private headSize = 0
  private tailChunks: Array<Buffer> = []
  private tailSize = 0
  private dropped = 0

  constructor(private readonly head: number, private readonly tail: number) {}

  /** Adds a chunk. */
  push(chunk: Buffer): void {
    let rest = chunk
    if (this.headSize < this.head) {
      const take = Math.min(this.head - this.headSize, rest.length)
      this.headChunks.push(rest.subarray(0, take))
      this.headSize += take
      rest = rest.subarray(take)
    }
    if (rest.length === 0) return
    this.tailChunks.push(rest)
    this.tailSize += rest.length
    while (this.tailSize > this.tail && this.tailChunks.length > 0) {
      const first = this.tailChunks[0]!
      const excess = this.tailSize - this.tail
      if (first.length <= excess) {
        this.tailChunks.shift()
        this.tailSize -= first.length
        this.dropped += first.length
      } else {
        this.tailChunks[0] = first.subarray(excess)
        this.tailSize -= excess
        this.dropped += excess
      }
    }
  }

  /** The captured text, with a marker where bytes were dropped. */
  output(): Output {
    const head = Buffer.concat(this.headChunks).toString("utf8")
    const tail = Buffer.concat(this.tailChunks).toString("utf8")
    if (this.dropped === 0) return { text: head + tail, droppedBytes: 0 }
    return { text: `${head}\n[… ${this.dropped} bytes of output dropped …]\n${tail}`, droppedBytes: this.dropped }
  }
}

/** An empty output. */
export const empty: Output = { text: "", droppedBytes: 0 }
