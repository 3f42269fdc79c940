/**
 * The selection strategies of a hub. Each picks one of the eligible entries (non-empty, in the order instances
 * were added); randomness arrives as a number in [0, 1) drawn from Effect's `Random` by the caller.
 */
import type { PriorityOrder, Strategy } from "../../Hub.js"
import type { Entry } from "./entry.js"

/** Selection state shared by all requests of a hub. */
export interface SelectionState {
  /** Sequence number of the entry a round robin picked last. */
  lastSeq: number
  /** For `model_affinity`: the instance that last served each key. */
  readonly affinity: Map<string, string>
}

/** One selection's inputs. */
export interface Choice {
  readonly strategy: Strategy
  readonly key: string | undefined
  readonly random: number
  readonly priorityOrder: PriorityOrder
  readonly affinityFallback: Strategy
}

/** Affinity keys remembered at most (oldest forgotten first). */
const maxAffinityKeys = 10_000

/** Whether a selection with this strategy draws a random number. */
export const usesRandom = (strategy: Strategy, affinityFallback: Strategy): boolean =>
  strategy === "random" || strategy === "weighted_random" || strategy === "adaptive" ||
  (strategy === "model_affinity" && affinityFallback !== "model_affinity" &&
    usesRandom(affinityFallback, "round_robin"))

/** Notes that `id` served `key` (for `model_affinity`). */
export const remember = (state: SelectionState, key: string, id: string): void => {
  state.affinity.delete(key)
  state.affinity.set(key, id)
  if (state.affinity.size > maxAffinityKeys) {
    const oldest = state.affinity.keys().next()
    if (oldest.done !== true) state.affinity.delete(oldest.value)
  }
}

/** The next entry after the one picked last, in the order instances were added (wrapping around). */
const roundRobin = <R>(candidates: ReadonlyArray<Entry<R>>, state: SelectionState): Entry<R> => {
  const chosen = candidates.find((e) => e.seq > state.lastSeq) ?? candidates[0]!
  state.lastSeq = chosen.seq
  return chosen
}

/** The entries with the lowest score, by round robin among ties. */
const lowest = <R>(
  candidates: ReadonlyArray<Entry<R>>,
  state: SelectionState,
  score: (entry: Entry<R>) => number
): Entry<R> => {
  let best = Infinity
  let tied: Array<Entry<R>> = []
  for (const entry of candidates) {
    const s = score(entry)
    if (s < best) {
      best = s
      tied = [entry]
    } else if (s === best) {
      tied.push(entry)
    }
  }
  return roundRobin(tied.length > 0 ? tied : candidates, state)
}

/** Picks by weight with `random` in [0, 1); uniform when no weight is positive. */
const weighted = <R>(
  candidates: ReadonlyArray<Entry<R>>,
  weights: ReadonlyArray<number>,
  random: number
): Entry<R> => {
  const total = weights.reduce((sum, w) => sum + Math.max(0, w), 0)
  if (!(total > 0)) return candidates[Math.min(candidates.length - 1, Math.floor(random * candidates.length))]!
  const target = random * total
  let acc = 0
  for (let i = 0; i < candidates.length; i++) {
    acc += Math.max(0, weights[i]!)
    if (target < acc) return candidates[i]!
  }
  return candidates[candidates.length - 1]!
}

/** FNV-1a with a murmur3 finaliser: a well-mixed, stable 32-bit string hash. */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The adaptive cost of an entry: expected latency (its EWMA, or the mean of the others while it has none) times
 * its load, inflated by its recent infrastructure error rate.
 */
const adaptiveCost = <R>(entry: Entry<R>, meanLatency: number): number =>
  ((entry.latencyEwma ?? meanLatency) + 1) * (1 + entry.inFlight) / Math.max(0.05, 1 - entry.errorEwma)

/** Picks one of `candidates` (non-empty) with the strategy of `choice`. */
export const choose = <R>(candidates: ReadonlyArray<Entry<R>>, state: SelectionState, choice: Choice): Entry<R> => {
  switch (choice.strategy) {
    case "round_robin":
      return roundRobin(candidates, state)
    case "least_loaded":
      return lowest(candidates, state, (e) => e.inFlight)
    case "random":
      return weighted(candidates, [], choice.random)
    case "weighted_random":
      return weighted(candidates, candidates.map((e) => e.instance.weight), choice.random)
    case "least_response_time": {
      const best = Math.min(...candidates.map((e) => e.latencyEwma ?? 0))
      return lowest(candidates.filter((e) => (e.latencyEwma ?? 0) === best), state, (e) => e.inFlight)
    }
    case "hash_based": {
      const key = choice.key
      if (key === undefined) return roundRobin(candidates, state)
      let best = candidates[0]!
      let bestScore = -1
      for (const entry of candidates) {
        const score = hash32(`${key}\u0000${entry.instance.id}`)
        if (score > bestScore) {
          best = entry
          bestScore = score
        }
      }
      return best
    }
    case "priority_based": {
      const sign = choice.priorityOrder === "lowest_first" ? 1 : -1
      return lowest(candidates, state, (e) => sign * e.instance.priority)
    }
    case "adaptive": {
      const known = candidates.filter((e) => e.latencyEwma !== undefined)
      const mean = known.length === 0 ? 0 : known.reduce((sum, e) => sum + e.latencyEwma!, 0) / known.length
      return weighted(candidates, candidates.map((e) => 1 / adaptiveCost(e, mean)), choice.random)
    }
    case "model_affinity": {
      const fallback: Choice = {
        ...choice,
        strategy: choice.affinityFallback === "model_affinity" ? "least_loaded" : choice.affinityFallback
      }
      if (choice.key === undefined) return choose(candidates, state, fallback)
      const id = state.affinity.get(choice.key)
      return candidates.find((e) => e.instance.id === id) ?? choose(candidates, state, fallback)
    }
  }
}
