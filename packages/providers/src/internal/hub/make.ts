/**
 * The implementation of `Hub.make`: the instance table, health loops, selection, breaker and metrics bookkeeping.
 * State is plain mutable data changed only inside `Effect.sync`/`Effect.suspend`, so each change is atomic.
 */
import { ProviderError } from "@gleitzeit/core"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import type {
  BreakerState,
  BreakerStatus,
  CheckResult,
  DuplicateInstance,
  Hub,
  Instance,
  InstanceHealth,
  InstanceMetrics,
  InstanceOptions,
  InstancePatch,
  InstanceStatus,
  PriorityOrder,
  Request,
  Strategy
} from "../../Hub.js"
import type { Health } from "../../Provider.js"
import { breakerAnswered, breakerFailed, Entry, ewma, type Need, refreshBreaker, refusal } from "./entry.js"
import { type Choice, choose, remember, type SelectionState, usesRandom } from "./select.js"

/** `Hub.Options` with every default applied. */
export interface Settings<R, RC> {
  readonly name: string
  readonly instances: Iterable<InstanceOptions<R>>
  readonly check: ((instance: Instance<R>) => Effect.Effect<CheckResult, unknown, RC>) | undefined
  readonly checkInterval: Duration.Duration
  readonly checkTimeout: Duration.Duration
  readonly strategy: Strategy
  readonly priorityOrder: PriorityOrder
  readonly affinityFallback: Strategy
  readonly failureThreshold: number
  readonly resetMs: number
  readonly retryOnOtherInstance: number
  readonly latencyWindow: number
  readonly ewmaAlpha: number
  readonly capabilityName: string
  readonly matchCapability: (have: string, want: string) => boolean
  readonly isInstanceFailure: (error: unknown) => boolean
  readonly isRetryable: (error: unknown) => boolean
  readonly duplicate: (id: string) => DuplicateInstance
}

const describe = (u: unknown): string => {
  if (typeof u === "object" && u !== null) {
    if ("message" in u && typeof u.message === "string" && u.message !== "") return u.message
    if ("_tag" in u && typeof u._tag === "string") return u._tag
  }
  return String(u)
}

type Refused = { readonly _tag: "Refused"; readonly refusals: ReadonlyArray<string> }
type Lease<R> = { readonly _tag: "Lease"; readonly entry: Entry<R>; readonly trial: boolean; readonly start: number }
type Outcome<A, E> = Refused | { readonly _tag: "Done"; readonly id: string; readonly exit: Exit.Exit<A, E> }

/** Builds a hub whose health loops and scoped resources live as long as the current scope. */
export const make = <R, RC>(settings: Settings<R, RC>): Effect.Effect<Hub<R>, DuplicateInstance, Scope.Scope | RC> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<RC>()
    const hubScope = yield* Effect.scope
    const loops = yield* FiberMap.make<number>()
    const { affinityFallback, capabilityName, check, checkInterval, checkTimeout, name, priorityOrder, resetMs } =
      settings
    const strategy = settings.strategy
    const threshold = Math.max(1, settings.failureThreshold)
    const retries = settings.retryOnOtherInstance
    const window = settings.latencyWindow
    const alpha = Math.min(1, Math.max(Number.EPSILON, settings.ewmaAlpha))
    const matches = settings.matchCapability
    const countsAgainst = settings.isInstanceFailure
    const retryable = settings.isRetryable

    const entries = new Map<string, Entry<R>>()
    const selection: SelectionState = { lastSeq: -1, affinity: new Map() }
    let seq = 0

    const annotate = (entry: Entry<R>) => Effect.annotateLogs({ hub: name, instance: entry.instance.id })

    const release = (entry: Entry<R>): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (entry.scope === undefined || entry.closed) return Effect.void
        entry.closed = true
        return Scope.close(entry.scope, Exit.void)
      })

    // Health

    const checkFailure = (cause: Cause.Cause<unknown>): string =>
      Option.match(Cause.failureOption(cause), {
        onNone: () => `health check died: ${describe(Cause.squash(cause))}`,
        onSome: (error) =>
          Cause.isTimeoutException(error)
            ? `health check timed out after ${Duration.format(checkTimeout)}`
            : describe(error)
      })

    const applyCheck = (entry: Entry<R>, exit: Exit.Exit<CheckResult, unknown>, now: number): Effect.Effect<void> =>
      Effect.suspend(() => {
        if (entry.removed || (Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause))) return Effect.void
        const before = entry.health.status
        if (Exit.isSuccess(exit)) {
          const result = exit.value
          if (result.capabilities !== undefined) {
            entry.instance = { ...entry.instance, capabilities: [...result.capabilities] }
          }
          entry.health = {
            status: result.healthy ? "healthy" : "unhealthy",
            checkedAt: now,
            ...(result.detail === undefined ? {} : { detail: result.detail })
          }
        } else {
          entry.health = { status: "unhealthy", checkedAt: now, detail: checkFailure(exit.cause) }
        }
        const after = entry.health.status
        if (after === before || (before === "unknown" && after === "healthy")) return Effect.void
        const log = after === "healthy"
          ? Effect.logInfo("hub instance is healthy again")
          : Effect.logWarning(`hub instance is unhealthy: ${entry.health.detail ?? "no detail"}`)
        return log.pipe(annotate(entry))
      })

    const checkOnce = (entry: Entry<R>): Effect.Effect<void> =>
      check === undefined ? Effect.void : Effect.suspend(() => check(entry.instance)).pipe(
        Effect.timeout(checkTimeout),
        Effect.provide(context),
        Effect.exit,
        Effect.flatMap((exit) => Effect.flatMap(Clock.currentTimeMillis, (now) => applyCheck(entry, exit, now)))
      )

    // Instances

    const register = (
      options: InstanceOptions<R>,
      scope: Scope.CloseableScope | undefined
    ): Effect.Effect<Instance<R>, DuplicateInstance> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const ready = yield* Deferred.make<void>()
        const instance: Instance<R> = {
          id: options.id,
          endpoint: options.endpoint,
          tags: [...(options.tags ?? [])],
          capabilities: [...(options.capabilities ?? [])],
          weight: options.weight ?? 1,
          priority: options.priority ?? 0,
          ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
          resource: options.resource
        }
        const health: InstanceHealth = check === undefined ? { status: "healthy" } : { status: "unknown" }
        const entry = yield* Effect.suspend(() => {
          if (entries.has(options.id)) return Effect.fail(settings.duplicate(options.id))
          const entry = new Entry(instance, health, seq++, now, window, scope, ready)
          entries.set(options.id, entry)
          return Effect.succeed(entry)
        })
        if (check !== undefined) {
          const loop = checkOnce(entry).pipe(
            Effect.zipRight(Deferred.succeed(ready, undefined)),
            Effect.zipRight(Effect.schedule(checkOnce(entry), Schedule.spaced(checkInterval))),
            Effect.interruptible
          )
          yield* FiberMap.run(loops, entry.seq, loop)
          yield* Deferred.await(ready)
        }
        return entry.instance
      })

    const add = (options: InstanceOptions<R>) => register(options, undefined)

    const addScoped = <E, RA>(
      options: Omit<InstanceOptions<R>, "resource">,
      acquire: Effect.Effect<R, E, RA>
    ): Effect.Effect<Instance<R>, E | DuplicateInstance, Exclude<RA, Scope.Scope>> =>
      Effect.gen(function*() {
        if (entries.has(options.id)) return yield* settings.duplicate(options.id)
        const scope = yield* Scope.fork(hubScope, ExecutionStrategy.sequential)
        return yield* Scope.extend(acquire, scope).pipe(
          Effect.flatMap((resource) => register({ ...options, resource }, scope)),
          Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(scope, exit) : Effect.void)
        )
      })

    const update = (id: string, patch: InstancePatch): Effect.Effect<boolean> =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry === undefined) return false
        entry.instance = { ...entry.instance, ...patch }
        return true
      })

    const remove = Effect.fn("Hub.remove")(function*(id: string) {
      const entry = entries.get(id)
      if (entry === undefined) return false
      entries.delete(id)
      entry.removed = true
      yield* FiberMap.remove(loops, entry.seq)
      yield* Deferred.succeed(entry.ready, undefined)
      if (entry.inFlight === 0) yield* release(entry)
      return true
    })

    const checkNow = Effect.fn("Hub.checkNow")(function*(id?: string) {
      const targets = [...entries.values()].filter((e) => id === undefined || e.instance.id === id)
      yield* Effect.forEach(targets, checkOnce, { concurrency: "unbounded", discard: true })
    })

    const count = (id: string, counter: string, amount: number): Effect.Effect<void> =>
      Effect.sync(() => {
        const entry = entries.get(id)
        if (entry !== undefined) entry.counters.set(counter, (entry.counters.get(counter) ?? 0) + amount)
      })

    // Calls

    const pick = (request: Request, choice: Choice, exclude: ReadonlySet<string>, now: number): Lease<R> | Refused => {
      const need: Need = {
        capability: request.capability,
        tags: request.tags ?? [],
        exclude,
        capabilityName,
        matches,
        resetMs
      }
      const eligible: Array<Entry<R>> = []
      const refusals: Array<string> = []
      for (const entry of entries.values()) {
        const why = refusal(entry, need, now)
        if (why === undefined) eligible.push(entry)
        else refusals.push(`${entry.instance.id} (${why})`)
      }
      if (eligible.length === 0) return { _tag: "Refused", refusals }
      const entry = choose(eligible, selection, choice)
      const trial = entry.breaker === "half_open"
      if (trial) entry.trial = true
      entry.inFlight++
      entry.requests++
      return { _tag: "Lease", entry, trial, start: now }
    }

    const unavailable = (request: Request, refusals: ReadonlyArray<string>) => {
      const what = request.capability === undefined ? "" : ` for ${capabilityName} '${request.capability}'`
      const tags = request.tags === undefined || request.tags.length === 0
        ? ""
        : ` with tags ${request.tags.join(", ")}`
      const list = refusals.length === 0 ? "the hub has no instances" : `instances: ${refusals.join(", ")}`
      return ProviderError.make({
        provider: name,
        method: request.method ?? name,
        reason: { _tag: "Unavailable" },
        message: `${name}: no eligible instance${what}${tags}; ${list}`
      })
    }

    const settle = <A, E>(lease: Lease<R>, exit: Exit.Exit<A, E>, affinityKey: string | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          const entry = lease.entry
          entry.inFlight--
          if (lease.trial) entry.trial = false
          let transition: BreakerState | undefined
          if (Exit.isSuccess(exit)) {
            const ms = Math.max(0, now - lease.start)
            entry.successes++
            entry.busyMs += ms
            entry.latencies.add(ms)
            entry.latencyEwma = ewma(entry.latencyEwma, ms, alpha)
            entry.errorEwma = ewma(entry.errorEwma, 0, alpha)
            transition = breakerAnswered(entry)
            if (affinityKey !== undefined) remember(selection, affinityKey, entry.instance.id)
          } else if (Cause.isInterruptedOnly(exit.cause)) {
            entry.interrupted++
          } else {
            entry.errors++
            const failure = Cause.failureOption(exit.cause)
            if (Option.isSome(failure)) {
              const counts = countsAgainst(failure.value)
              entry.errorEwma = ewma(entry.errorEwma, counts ? 1 : 0, alpha)
              transition = counts ? breakerFailed(entry, now, threshold) : breakerAnswered(entry)
            }
          }
          const log = transition === undefined
            ? Effect.void
            : transition === "open"
            ? Effect.logWarning(`hub instance circuit opened after ${entry.failures} failure(s)`).pipe(annotate(entry))
            : Effect.logInfo("hub instance circuit closed").pipe(annotate(entry))
          return entry.removed && entry.inFlight === 0 ? Effect.zipRight(log, release(entry)) : log
        }))

    const use = <A, E, RF>(
      request: Request,
      f: (instance: Instance<R>) => Effect.Effect<A, E, RF>
    ): Effect.Effect<A, E | ProviderError.ProviderError, RF> => {
      const chosen = request.strategy ?? strategy
      const key = request.key ?? request.capability
      const affinityKey = chosen === "model_affinity" ? key : undefined
      const draws = usesRandom(chosen, affinityFallback)
      const lease = (exclude: ReadonlySet<string>) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) =>
            Effect.flatMap(draws ? Random.next : Effect.succeed(0), (random) =>
              Effect.sync(() =>
                pick(request, { strategy: chosen, key, random, priorityOrder, affinityFallback }, exclude, now)
              ))
        )
      const once = (exclude: ReadonlySet<string>): Effect.Effect<Outcome<A, E>, never, RF> =>
        Effect.uninterruptibleMask((restore) =>
          Effect.flatMap(lease(exclude), (picked): Effect.Effect<Outcome<A, E>, never, RF> =>
            picked._tag === "Refused"
              ? Effect.succeed(picked)
              : restore(Effect.suspend(() => f(picked.entry.instance))).pipe(
                Effect.exit,
                Effect.tap((exit) => settle(picked, exit, affinityKey)),
                Effect.map((exit) => ({ _tag: "Done", id: picked.entry.instance.id, exit }))
              ))
        )
      const attempt = (
        exclude: ReadonlySet<string>,
        remaining: number,
        previous: Exit.Exit<A, E> | undefined
      ): Effect.Effect<A, E | ProviderError.ProviderError, RF> =>
        Effect.flatMap(once(exclude), (outcome): Effect.Effect<A, E | ProviderError.ProviderError, RF> => {
          if (outcome._tag === "Refused") return previous ?? Effect.fail(unavailable(request, outcome.refusals))
          const exit = outcome.exit
          if (remaining > 0 && Exit.isFailure(exit)) {
            const failure = Cause.failureOption(exit.cause)
            if (Option.isSome(failure) && retryable(failure.value)) {
              return Effect.logDebug(`${name}: ${outcome.id} failed, trying another instance`).pipe(
                Effect.zipRight(attempt(new Set([...exclude, outcome.id]), remaining - 1, exit))
              )
            }
          }
          return exit
        })
      return attempt(new Set(), Math.max(0, Math.floor(request.retryOnOtherInstance ?? retries)), undefined)
    }

    // Status

    const breakerOf = (entry: Entry<R>): BreakerStatus => ({
      state: entry.breaker,
      consecutiveFailures: entry.failures,
      ...(entry.openedAt === undefined ? {} : { openedAt: entry.openedAt })
    })

    const current = Effect.map(Clock.currentTimeMillis, (now) => {
      const all = [...entries.values()]
      for (const entry of all) refreshBreaker(entry, now, resetMs)
      return all
    })

    const instances = Effect.map(current, (all) =>
      all.map((entry): InstanceStatus<R> => ({
        instance: entry.instance,
        health: entry.health,
        breaker: breakerOf(entry),
        inFlight: entry.inFlight
      })))

    const metrics = Effect.map(current, (all) =>
      all.map((entry): InstanceMetrics => {
        const ended = entry.successes + entry.errors
        const latency = entry.latencies.summary(entry.latencyEwma ?? 0)
        return {
          id: entry.instance.id,
          endpoint: entry.instance.endpoint,
          health: entry.health.status,
          breaker: entry.breaker,
          requests: entry.requests,
          successes: entry.successes,
          errors: entry.errors,
          interrupted: entry.interrupted,
          errorRate: ended === 0 ? 0 : entry.errors / ended,
          inFlight: entry.inFlight,
          ...(latency === undefined ? {} : { latencyMs: latency }),
          busyMs: entry.busyMs,
          since: entry.addedAt,
          counters: Object.fromEntries(entry.counters)
        }
      }))

    const health = Effect.map(current, (all): Health => {
      if (all.length === 0) return { status: "unhealthy", detail: `${name}: no instances` }
      const down = all.flatMap((entry) => {
        const why = entry.health.status !== "healthy"
          ? `${entry.health.status}${entry.health.detail === undefined ? "" : `: ${entry.health.detail}`}`
          : entry.breaker === "open"
          ? "circuit open"
          : undefined
        return why === undefined ? [] : [`${entry.instance.id} (${why})`]
      })
      if (down.length === 0) return { status: "healthy" }
      return {
        status: down.length === all.length ? "unhealthy" : "degraded",
        detail: `${name}: ${down.length} of ${all.length} instances unavailable: ${down.join(", ")}`
      }
    })

    const hub: Hub<R> = {
      name,
      use,
      add,
      addScoped,
      update,
      remove,
      checkNow,
      count,
      instances,
      metrics,
      health
    }
    yield* Effect.forEach(settings.instances, add, { concurrency: "unbounded", discard: true })
    return hub
  })
