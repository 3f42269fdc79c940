/**
 * The one generic hub: a pool of interchangeable instances of a resource (Ollama/OpenAI endpoints, MCP server
 * connections, warm containers) with a health loop, a circuit breaker per instance, selection strategies and
 * metrics. A provider builds one hub per kind of resource and runs each call through `use`; the hub knows nothing
 * about the resource beyond the `check` it is given and the effect `use` runs.
 */
import { ProviderError } from "@gleitzeit/core"
import type * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/hub/make.js"
import type { Health } from "./Provider.js"

/** How a hub picks one of the eligible instances. */
export const Strategy = Schema.Literal(
  "round_robin",
  "least_loaded",
  "random",
  "weighted_random",
  "least_response_time",
  "hash_based",
  "priority_based",
  "adaptive",
  "model_affinity"
)

/**
 * How a hub picks one of the eligible instances:
 * - `round_robin`: the next instance after the one picked last, in the order instances were added.
 * - `least_loaded`: fewest calls in flight (ties by round robin).
 * - `random`: uniformly, through Effect's `Random`.
 * - `weighted_random`: proportionally to `weight` (weight 0 is never picked while another weight is positive).
 * - `least_response_time`: lowest latency EWMA; instances without a sample first; ties by fewest in flight.
 * - `hash_based`: rendezvous hashing of the request's `key` (stable while the instance is eligible, and only the
 *   keys of a removed instance move); round robin without a key.
 * - `priority_based`: the best `priority` tier (see `PriorityOrder`), round robin within it.
 * - `adaptive`: random, weighted by 1 / (latency EWMA × (1 + in flight) / (1 − infrastructure error EWMA)), so fast,
 *   idle, reliable instances get most calls and the others still get a few (and can recover).
 * - `model_affinity`: the instance that last served the request's key (default: its capability, e.g. the model,
 *   for KV-cache locality); otherwise `affinityFallback`.
 */
export type Strategy = typeof Strategy.Type

/** Which end of `priority` `priority_based` prefers: `lowest_first` (1 = primary, 2 = backup…) or the reverse. */
export const PriorityOrder = Schema.Literal("lowest_first", "highest_first")

/** Which end of `priority` `priority_based` prefers. */
export type PriorityOrder = typeof PriorityOrder.Type

/** One instance of the pool, as `use` hands it to the caller. Immutable: updates replace it. */
export interface Instance<R> {
  /** Unique within the hub. */
  readonly id: string
  /** Where it is (a URL, a command line, a container id), for messages and metrics. */
  readonly endpoint: string
  /** Free-form labels a request may require (e.g. `gpu`). */
  readonly tags: ReadonlyArray<string>
  /** What it can serve (e.g. the models of an LLM server); replaced by what a health check reports. */
  readonly capabilities: ReadonlyArray<string>
  /** Relative share for `weighted_random`. */
  readonly weight: number
  /** Tier for `priority_based`. */
  readonly priority: number
  /** Most calls in flight at once; an instance at capacity is not eligible. Unlimited when absent. */
  readonly maxInFlight?: number
  /** The resource itself (a client, a connection, a container handle). */
  readonly resource: R
}

/** An instance to add: `tags` and `capabilities` default to none, `weight` to 1, `priority` to 0. */
export interface InstanceOptions<R> {
  /** Unique within the hub. */
  readonly id: string
  /** Where it is, for messages and metrics. */
  readonly endpoint: string
  /** The resource. */
  readonly resource: R
  /** Labels a request may require. */
  readonly tags?: ReadonlyArray<string>
  /** What it can serve until a health check says otherwise. */
  readonly capabilities?: ReadonlyArray<string>
  /** Relative share for `weighted_random`. */
  readonly weight?: number
  /** Tier for `priority_based`. */
  readonly priority?: number
  /** Most calls in flight at once. */
  readonly maxInFlight?: number
}

/** Changes to an instance's settings (e.g. after a configuration reload); metrics and breaker are kept. */
export interface InstancePatch {
  /** New labels. */
  readonly tags?: ReadonlyArray<string>
  /** New capabilities. */
  readonly capabilities?: ReadonlyArray<string>
  /** New weight. */
  readonly weight?: number
  /** New priority. */
  readonly priority?: number
  /** New in-flight limit. */
  readonly maxInFlight?: number
}

/** What a health check found. */
export interface CheckResult {
  /** Whether the instance may take calls. */
  readonly healthy: boolean
  /** What it serves now (e.g. the models listed by `/api/tags`); replaces the instance's capabilities. */
  readonly capabilities?: ReadonlyArray<string>
  /** Why it is unhealthy, or other detail for status output. */
  readonly detail?: string
}

/** An instance's health as the last check found it (`unknown` until its first check ends). */
export interface InstanceHealth {
  /** `unknown`, `healthy` or `unhealthy`; only `healthy` instances take calls. */
  readonly status: "unknown" | "healthy" | "unhealthy"
  /** What the check said, or why it failed. */
  readonly detail?: string
  /** When the check ended (Clock millis). */
  readonly checkedAt?: number
}

/** A circuit breaker's state: `closed` (calls flow), `open` (none), `half_open` (one trial call at a time). */
export type BreakerState = "closed" | "open" | "half_open"

/** A circuit breaker. */
export interface BreakerStatus {
  /** The state. */
  readonly state: BreakerState
  /** Consecutive failures that counted against the instance. */
  readonly consecutiveFailures: number
  /** When it last opened (Clock millis), if it ever did. */
  readonly openedAt?: number
}

/** An instance with its health, breaker and load. */
export interface InstanceStatus<R> {
  /** The instance as `use` would hand it out now. */
  readonly instance: Instance<R>
  /** Its health. */
  readonly health: InstanceHealth
  /** Its breaker. */
  readonly breaker: BreakerStatus
  /** Calls running on it now. */
  readonly inFlight: number
}

/** Latency of successful calls, in milliseconds, over the latest `latencyWindow` of them. */
export interface Latency {
  /** Samples in the window. */
  readonly samples: number
  /** Median (nearest rank). */
  readonly p50: number
  /** 95th percentile (nearest rank). */
  readonly p95: number
  /** 99th percentile (nearest rank). */
  readonly p99: number
  /** Exponentially weighted moving average (what `least_response_time` uses). */
  readonly ewma: number
}

/** What an instance has done since it was added. */
export interface InstanceMetrics {
  /** The instance id. */
  readonly id: string
  /** Its endpoint. */
  readonly endpoint: string
  /** Its health status. */
  readonly health: InstanceHealth["status"]
  /** Its breaker state. */
  readonly breaker: BreakerState
  /** Calls started on it (including ones in flight and interrupted ones). */
  readonly requests: number
  /** Calls that succeeded. */
  readonly successes: number
  /** Calls that failed (any error or defect; interruptions are not errors). */
  readonly errors: number
  /** Calls interrupted before they ended. */
  readonly interrupted: number
  /** errors / (successes + errors); 0 before any call ended. */
  readonly errorRate: number
  /** Calls running now. */
  readonly inFlight: number
  /** Latency of successful calls; absent before the first one. */
  readonly latencyMs?: Latency
  /** Total time spent in successful calls, in milliseconds. */
  readonly busyMs: number
  /** When the instance was added (Clock millis). */
  readonly since: number
  /** Free-form counters added with `count` (e.g. `tokens`). */
  readonly counters: Readonly<Record<string, number>>
}

/** What a call needs, and how to place it. */
export interface Request {
  /** A capability the instance must have (e.g. the model). */
  readonly capability?: string
  /** Tags the instance must all have. */
  readonly tags?: ReadonlyArray<string>
  /** Key for `hash_based` and `model_affinity` (default: `capability`). */
  readonly key?: string
  /** Overrides the hub's strategy for this call. */
  readonly strategy?: Strategy
  /** The method being served, for the `ProviderError` of a call no instance can take. */
  readonly method?: string
  /** Other instances to try when the call fails with a retryable error (overrides the hub's setting). */
  readonly retryOnOtherInstance?: number
}

/** How to build a hub; every field but `name` has a default (see `defaults`). */
export interface Options<R, RC = never> {
  /** The hub's name (e.g. `ollama`, `mcp`): the `provider` of its errors and the prefix of its messages. */
  readonly name: string
  /** Instances present from the start. */
  readonly instances?: Iterable<InstanceOptions<R>>
  /** Checks an instance; a failure, defect or timeout marks it unhealthy. Without it every instance is healthy. */
  readonly check?: (instance: Instance<R>) => Effect.Effect<CheckResult, unknown, RC>
  /** Time between the end of one check of an instance and the start of the next. */
  readonly checkInterval?: Duration.DurationInput
  /** A check running longer fails. */
  readonly checkTimeout?: Duration.DurationInput
  /** The default strategy. */
  readonly strategy?: Strategy
  /** Which priorities `priority_based` prefers. */
  readonly priorityOrder?: PriorityOrder
  /** What `model_affinity` does without a remembered, eligible instance. */
  readonly affinityFallback?: Strategy
  /** Consecutive counted failures that open an instance's breaker. */
  readonly failureThreshold?: number
  /** How long a breaker stays open before it lets a trial call through. */
  readonly resetTimeout?: Duration.DurationInput
  /** Other instances a call that failed with a retryable error is tried on (0: none). */
  readonly retryOnOtherInstance?: number
  /** Latency samples kept per instance for percentiles. */
  readonly latencyWindow?: number
  /** Weight of a new sample in the latency and error EWMAs, in (0, 1]. */
  readonly ewmaAlpha?: number
  /** What a capability is called in messages (e.g. `model`). */
  readonly capabilityName?: string
  /** Whether an instance's capability `have` satisfies a requested `want` (default: equality). */
  readonly matchCapability?: (have: string, want: string) => boolean
  /** Whether a call's error counts against the instance's breaker (default: `isInstanceFailure`). */
  readonly isInstanceFailure?: (error: unknown) => boolean
  /** Whether a call's error may succeed on another instance (default: `isRetryable`). */
  readonly isRetryable?: (error: unknown) => boolean
}

/** The defaults of `Options`. */
export const defaults = {
  checkInterval: Duration.seconds(10),
  checkTimeout: Duration.seconds(5),
  strategy: "round_robin" as Strategy,
  priorityOrder: "lowest_first" as PriorityOrder,
  affinityFallback: "least_loaded" as Strategy,
  failureThreshold: 5,
  resetTimeout: Duration.seconds(30),
  retryOnOtherInstance: 0,
  latencyWindow: 1024,
  ewmaAlpha: 0.3,
  capabilityName: "capability"
} as const

/** A hub. */
export interface Hub<R> {
  /** The hub's name. */
  readonly name: string
  /**
   * Runs `f` on an eligible instance (healthy, breaker not open, a half-open breaker's single trial free, not at
   * capacity, having the capability and tags) picked by the strategy, and records latency, outcome and breaker.
   * Fails with a `ProviderError` `Unavailable` naming each instance and why it was not eligible. With
   * `retryOnOtherInstance`, a retryable failure is retried on other eligible instances; when none is left the
   * last failure is returned. Interruption of `f` counts as neither success nor failure.
   */
  readonly use: <A, E, RF>(
    request: Request,
    f: (instance: Instance<R>) => Effect.Effect<A, E, RF>
  ) => Effect.Effect<A, E | ProviderError.ProviderError, RF>
  /** Adds an instance and waits for its first health check; its health loop runs until it is removed. */
  readonly add: (options: InstanceOptions<R>) => Effect.Effect<Instance<R>, DuplicateInstance>
  /**
   * Adds an instance whose resource is acquired in a scope of its own, closed when the instance is removed (once
   * its calls in flight ended) or the hub closes; the scope is closed at once if acquiring or adding fails.
   */
  readonly addScoped: <E, RA>(
    options: Omit<InstanceOptions<R>, "resource">,
    acquire: Effect.Effect<R, E, RA>
  ) => Effect.Effect<Instance<R>, E | DuplicateInstance, Exclude<RA, Scope.Scope>>
  /** Changes an instance's settings; false when there is no such instance. */
  readonly update: (id: string, patch: InstancePatch) => Effect.Effect<boolean>
  /** Removes an instance: no new calls, its health loop stops; false when there was no such instance. */
  readonly remove: (id: string) => Effect.Effect<boolean>
  /** Checks one instance (or all) now, besides the loop. */
  readonly checkNow: (id?: string) => Effect.Effect<void>
  /** Adds `amount` to an instance's free-form counter `counter` (e.g. tokens generated). */
  readonly count: (id: string, counter: string, amount: number) => Effect.Effect<void>
  /** Every instance with its health, breaker and load. */
  readonly instances: Effect.Effect<ReadonlyArray<InstanceStatus<R>>>
  /** Every instance's metrics. */
  readonly metrics: Effect.Effect<ReadonlyArray<InstanceMetrics>>
  /** The pool's health: healthy when every instance can take calls, degraded when some can, else unhealthy. */
  readonly health: Effect.Effect<Health>
}

/** An instance id was added twice. */
export class DuplicateInstance extends Data.TaggedError("DuplicateInstance")<{
  readonly hub: string
  readonly id: string
  readonly message: string
}> {}

/**
 * Whether an error says the instance is failing (it counts against its breaker): a `ProviderError` for
 * `Unavailable`, `Timeout`, `BadResponse` or an HTTP status of 500 or above. Invalid params, unknown models, 4xx and
 * failures of user code say nothing about the instance.
 */
export const isInstanceFailure = (error: unknown): boolean => {
  if (!(error instanceof ProviderError.ProviderError)) return false
  switch (error.reason._tag) {
    case "Unavailable":
    case "Timeout":
    case "BadResponse":
      return true
    case "HttpStatus":
      return error.reason.status >= 500
    default:
      return false
  }
}

/** Whether an error may succeed elsewhere: a `ProviderError` whose verdict is retryable. */
export const isRetryable = (error: unknown): boolean => error instanceof ProviderError.ProviderError && error.retryable

/** A counter per second of busy time (e.g. tokens/s from a `tokens` counter); 0 before any successful call. */
export const throughput = (metrics: InstanceMetrics, counter: string): number =>
  metrics.busyMs > 0 ? (metrics.counters[counter] ?? 0) / (metrics.busyMs / 1000) : 0

/** Builds a hub whose health loops and scoped resources live as long as the current scope. */
export const make = <R, RC = never>(
  options: Options<R, RC>
): Effect.Effect<Hub<R>, DuplicateInstance, Scope.Scope | RC> =>
  internal.make({
    name: options.name,
    instances: options.instances ?? [],
    check: options.check,
    checkInterval: Duration.decode(options.checkInterval ?? defaults.checkInterval),
    checkTimeout: Duration.decode(options.checkTimeout ?? defaults.checkTimeout),
    strategy: options.strategy ?? defaults.strategy,
    priorityOrder: options.priorityOrder ?? defaults.priorityOrder,
    affinityFallback: options.affinityFallback ?? defaults.affinityFallback,
    failureThreshold: options.failureThreshold ?? defaults.failureThreshold,
    resetMs: Duration.toMillis(options.resetTimeout ?? defaults.resetTimeout),
    retryOnOtherInstance: options.retryOnOtherInstance ?? defaults.retryOnOtherInstance,
    latencyWindow: options.latencyWindow ?? defaults.latencyWindow,
    ewmaAlpha: options.ewmaAlpha ?? defaults.ewmaAlpha,
    capabilityName: options.capabilityName ?? defaults.capabilityName,
    matchCapability: options.matchCapability ?? ((have, want) => have === want),
    isInstanceFailure: options.isInstanceFailure ?? isInstanceFailure,
    isRetryable: options.isRetryable ?? isRetryable,
    duplicate: (id) =>
      new DuplicateInstance({ hub: options.name, id, message: `${options.name}: instance '${id}' was added twice` })
  })

/** A layer providing a hub under the consumer's tag (e.g. `OllamaHub`), scoped to the layer. */
export const layer = <I, R, RC = never>(
  tag: Context.Tag<I, Hub<R>>,
  options: Options<R, RC>
): Layer.Layer<I, DuplicateInstance, Exclude<RC, Scope.Scope>> => Layer.scoped(tag, make(options))
