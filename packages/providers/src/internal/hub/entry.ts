/**
 * The mutable state a hub keeps per instance: health, circuit breaker, load and latency statistics. Only the hub
 * mutates it, inside `Effect.sync`, so every change is atomic with respect to other fibers.
 */
import type * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import type * as Scope from "effect/Scope"
import type { BreakerState, Instance, InstanceHealth, Latency } from "../../Hub.js"

/** The latest latency samples, bounded, for percentiles. */
export class LatencyWindow {
  private readonly samples: Float64Array
  private next = 0
  private size = 0

  constructor(capacity: number) {
    this.samples = new Float64Array(Math.max(1, Math.floor(capacity)))
  }

  /** Adds a sample, dropping the oldest one when full. */
  add(ms: number): void {
    this.samples[this.next] = ms
    this.next = (this.next + 1) % this.samples.length
    if (this.size < this.samples.length) this.size++
  }

  /** Nearest-rank percentiles of the window, or undefined without samples. */
  summary(ewma: number): Latency | undefined {
    const n = this.size
    if (n === 0) return undefined
    const sorted = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!
    return { samples: n, p50: at(0.5), p95: at(0.95), p99: at(0.99), ewma }
  }
}

/** An exponentially weighted moving average step. */
export const ewma = (previous: number | undefined, sample: number, alpha: number): number =>
  previous === undefined ? sample : alpha * sample + (1 - alpha) * previous

/** One instance and what the hub knows about it. */
export class Entry<R> {
  breaker: BreakerState = "closed"
  failures = 0
  openedAt: number | undefined = undefined
  trial = false
  inFlight = 0
  requests = 0
  successes = 0
  errors = 0
  interrupted = 0
  busyMs = 0
  latencyEwma: number | undefined = undefined
  errorEwma = 0
  removed = false
  closed = false
  readonly latencies: LatencyWindow
  readonly counters = new Map<string, number>()

  constructor(
    public instance: Instance<R>,
    public health: InstanceHealth,
    readonly seq: number,
    readonly addedAt: number,
    window: number,
    readonly scope: Scope.CloseableScope | undefined,
    readonly ready: Deferred.Deferred<void>
  ) {
    this.latencies = new LatencyWindow(window)
  }
}

/** Moves an open breaker whose reset timeout has passed to half-open. */
export const refreshBreaker = <R>(entry: Entry<R>, now: number, resetMs: number): void => {
  if (entry.breaker === "open" && now - (entry.openedAt ?? now) >= resetMs) entry.breaker = "half_open"
}

/**
 * The instance answered (a success, or a failure that is not the instance's fault): a half-open breaker closes and
 * the failure count restarts. An open breaker ignores calls that started before it opened. Returns a transition.
 */
export const breakerAnswered = <R>(entry: Entry<R>): BreakerState | undefined => {
  if (entry.breaker === "open") return undefined
  entry.failures = 0
  if (entry.breaker === "half_open") {
    entry.breaker = "closed"
    return "closed"
  }
  return undefined
}

/** A failure that counts against the instance: opens the breaker at the threshold, or at once when half-open. */
export const breakerFailed = <R>(entry: Entry<R>, now: number, threshold: number): BreakerState | undefined => {
  if (entry.breaker === "open") return undefined
  entry.failures++
  if (entry.breaker === "half_open" || entry.failures >= threshold) {
    entry.breaker = "open"
    entry.openedAt = now
    return "open"
  }
  return undefined
}

/** What a request needs from an instance. */
export interface Need {
  readonly capability: string | undefined
  readonly tags: ReadonlyArray<string>
  readonly exclude: ReadonlySet<string>
  readonly capabilityName: string
  readonly matches: (have: string, want: string) => boolean
  readonly resetMs: number
}

/** Why an instance cannot take a request now, or undefined when it can. */
export const refusal = <R>(entry: Entry<R>, need: Need, now: number): string | undefined => {
  const instance = entry.instance
  if (need.exclude.has(instance.id)) return "already tried"
  if (entry.health.status === "unknown") return "not checked yet"
  if (entry.health.status === "unhealthy") {
    return entry.health.detail === undefined ? "unhealthy" : `unhealthy: ${entry.health.detail}`
  }
  const want = need.capability
  if (want !== undefined && !instance.capabilities.some((have) => need.matches(have, want))) {
    return `no ${need.capabilityName} '${want}'`
  }
  const missing = need.tags.filter((tag) => !instance.tags.includes(tag))
  if (missing.length > 0) return `missing tags: ${missing.join(", ")}`
  refreshBreaker(entry, now, need.resetMs)
  if (entry.breaker === "open") {
    const left = Math.max(0, need.resetMs - (now - (entry.openedAt ?? now)))
    return `circuit open (half-open in ${Duration.format(Duration.millis(left))})`
  }
  if (entry.breaker === "half_open" && entry.trial) return "circuit half-open, trial call in flight"
  if (instance.maxInFlight !== undefined && entry.inFlight >= instance.maxInFlight) {
    return `at capacity (${entry.inFlight} in flight)`
  }
  return undefined
}
