/**
 * Waiting for an observable condition in the cluster bench: the condition is checked every `intervalMs` until it
 * holds or the deadline passes.
 */
import { setTimeout as delay } from "node:timers/promises"

/** A condition that did not hold by its deadline. */
export class PollTimeout extends Error {
  override readonly name = "PollTimeout"
}

/**
 * Checks `condition` until it returns a value other than `undefined`, and returns that value; fails with
 * `PollTimeout` naming `what` after `timeoutMs`.
 */
export const pollUntil = async <A>(
  what: string,
  condition: () => Promise<A | undefined>,
  options: { readonly timeoutMs: number; readonly intervalMs?: number }
): Promise<A> => {
  const deadline = performance.now() + options.timeoutMs
  for (;;) {
    const value = await condition()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new PollTimeout(`${what}: not reached within ${options.timeoutMs} ms`)
    await delay(options.intervalMs ?? 50)
  }
}
