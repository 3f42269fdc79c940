/**
 * Shared helpers of the runtime tests: an embedded runtime built in the test's scope (real SQLite journal), a
 * `Probe` of instrumented `fn/…` functions that record what the engine did to them, and ways to wait for the
 * engine (events, pending sleeps) instead of sleeping.
 */
import { assert } from "@effect/vitest"
import { type Event, Json, ProviderError, WorkflowLoader } from "@gleitzeit/core"
import { FnProvider, ProviderRegistry } from "@gleitzeit/providers"
import { Embedded, Engine, EngineConfig, EventBus, Journal, Scheduler } from "@gleitzeit/runtime"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The services of an embedded runtime. */
export interface Runtime {
  readonly engine: Context.Tag.Service<Engine.Engine>
  readonly journal: Context.Tag.Service<Journal.Journal>
  readonly bus: Context.Tag.Service<EventBus.EventBus>
  readonly registry: Context.Tag.Service<ProviderRegistry.ProviderRegistry>
  readonly scheduler: Context.Tag.Service<Scheduler.Scheduler>
  readonly config: Context.Tag.Service<EngineConfig.EngineConfig>
}

/** Builds an embedded runtime (in-memory SQLite unless a file is given) that lives as long as the scope. */
export const makeRuntime = (
  options: Partial<Embedded.Options> = {}
): Effect.Effect<Runtime, never, Scope.Scope> =>
  Effect.map(Layer.build(Embedded.layer({ filename: ":memory:", ...options })), (context) => ({
    engine: Context.get(context, Engine.Engine),
    journal: Context.get(context, Journal.Journal),
    bus: Context.get(context, EventBus.EventBus),
    registry: Context.get(context, ProviderRegistry.ProviderRegistry),
    scheduler: Context.get(context, Scheduler.Scheduler),
    config: Context.get(context, EngineConfig.EngineConfig)
  }))

/** A fresh temporary directory, removed when the scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "gleitzeit-runtime-test-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Loads a workflow object against the runtime's catalog; a validation error fails the test with its issues. */
export const workflow = (runtime: Runtime, doc: unknown) =>
  WorkflowLoader.fromObject(doc, { catalog: runtime.registry.catalog() }).pipe(
    Effect.map((loaded) => loaded.workflow),
    Effect.catchAll((error) =>
      Effect.die(
        new Error(`expected the workflow to load: ${error.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`)
      )
    )
  )

/** Loads a workflow from YAML text against the runtime's catalog. */
export const workflowYaml = (runtime: Runtime, text: string) =>
  WorkflowLoader.load(text, { catalog: runtime.registry.catalog() }).pipe(
    Effect.map((loaded) => loaded.workflow),
    Effect.catchAll((error) => Effect.die(new Error(`expected the workflow to load: ${error.message}`)))
  )

/** Joins lines into a YAML document. */
export const yaml = (...lines: ReadonlyArray<string>): string => lines.join("\n") + "\n"

/** Takes events from a subscription until one matches, returning it (events before it are dropped). */
export const nextEvent = <E extends Event.Event = Event.Event>(
  subscription: Queue.Dequeue<Event.Event>,
  predicate: (event: Event.Event) => boolean
): Effect.Effect<E> =>
  Effect.flatMap(
    Queue.take(subscription),
    (event) => predicate(event) ? Effect.succeed(event as E) : nextEvent<E>(subscription, predicate)
  )

/** Matches an event by tag and, optionally, task. */
export const isEvent = (tag: Event.Tag, taskId?: string) => (event: Event.Event): boolean =>
  event._tag === tag && (taskId === undefined || ("taskId" in event && event.taskId === taskId))

/** How many times `eventually` lets other fibers run before it gives up. */
export const maxYields = 10_000

/**
 * Lets other fibers run until `condition` holds, for in-process state that they change without I/O (the
 * scheduler's queues, the TestClock's sleepers). Bounded in steps, not time: after `maxYields` yields without the
 * condition the test fails, naming what it waited for and what it saw last.
 */
export const eventually = <A>(
  what: string,
  observe: Effect.Effect<A>,
  condition: (observed: A) => boolean
): Effect.Effect<A> =>
  Effect.gen(function*() {
    let observed = yield* observe
    let yields = 0
    while (!condition(observed)) {
      if (yields === maxYields) {
        return yield* Effect.die(
          new Error(`gave up waiting for ${what} after ${maxYields} yields (last seen: ${JSON.stringify(observed)})`)
        )
      }
      yield* Effect.yieldNow()
      yields++
      observed = yield* observe
    }
    return observed
  })

/**
 * Waits until at least `count` fibers sleep on the TestClock (a retry backoff, a timeout, a deadline), so that
 * a following `TestClock.adjust` is measured from the moment they started sleeping.
 */
export const whenSleeping = (count = 1): Effect.Effect<void> =>
  Effect.asVoid(
    eventually(`${count} sleeping on the TestClock`, Effect.map(TestClock.sleeps(), Chunk.size), (n) => n >= count)
  )

/** A ProviderError as a test function fails with it. */
const providerError = (name: string, reason: ProviderError.Reason) =>
  ProviderError.make({ provider: "fn", method: `fn/${name}`, reason, message: `fn/${name}: ${reason._tag}` })

/** One call of a probe function. */
export interface Call {
  readonly key: string
  readonly attempt: number
  readonly at: number
  readonly params: unknown
}

const WorkParams = Schema.Struct({
  key: Schema.String,
  wait: Schema.optional(Schema.String),
  value: Schema.optional(Json.Json)
})

const FailParams = Schema.Struct({
  key: Schema.String,
  reason: Schema.Literal(
    "Unavailable",
    "Timeout",
    "ExecutionFailed",
    "InvalidParams",
    "NotFound",
    "Http503",
    "Http404"
  ),
  failures: Schema.optional(Schema.Number),
  wait: Schema.optional(Schema.String),
  waitFrom: Schema.optional(Schema.Number)
})

const reasonOf = (reason: typeof FailParams.Type["reason"]): ProviderError.Reason => {
  switch (reason) {
    case "Http503":
      return { _tag: "HttpStatus", status: 503, body: "busy" }
    case "Http404":
      return { _tag: "HttpStatus", status: 404, body: "no such thing" }
    case "ExecutionFailed":
      return { _tag: "ExecutionFailed" }
    default:
      return { _tag: reason }
  }
}

/**
 * Instrumented test functions and what happened to them. Every function records its calls (key, attempt, clock
 * time, params), how many run at once, and which calls were interrupted (their finalizer ran).
 *
 * - `fn/work {key, wait?, value?}`: waits for the gate named `wait` (if given), then returns `value` (or `key`).
 * - `fn/fail {key, reason, failures?, wait?, waitFrom?}`: fails its first `failures` calls (all when absent) with
 *   a ProviderError of that reason, then returns `{calls}`; calls from number `waitFrom` (default 1) first wait for
 *   the gate `wait`.
 * - `fn/echo`: returns its params.
 * - `fn/typed {n: number}`: returns `n * 2`; its params are schema-checked.
 * - `fn/die`, `fn/throw`, `fn/throwSync`, `fn/selfInterrupt`: a defect, a throw inside the handler, a throwing
 *   plain function, and an attempt that interrupts itself.
 * - `fn/big {size}`: returns a string of `size` characters.
 * - `fn/emit {lines}`: emits each line as `log` output, then returns their count.
 */
export class Probe {
  /** Every call, in start order. */
  readonly calls: Array<Call> = []
  /** Keys of calls whose interruption finalizer ran. */
  readonly interrupted: Array<string> = []
  /** Calls running now. */
  running = 0
  /** Most calls that ever ran at once. */
  maxRunning = 0
  private readonly gates = new Map<string, Deferred.Deferred<void>>()
  private readonly starts = new Map<string, Array<Deferred.Deferred<Call>>>()
  private readonly interrupts = new Map<string, Deferred.Deferred<void>>()

  private signal(key: string, n: number): Deferred.Deferred<Call> {
    let list = this.starts.get(key)
    if (list === undefined) {
      list = []
      this.starts.set(key, list)
    }
    while (list.length < n) list.push(Deferred.unsafeMake<Call>(FiberId.none))
    return list[n - 1]!
  }

  /** The gate named `name` (created closed). */
  gate(name: string): Deferred.Deferred<void> {
    let gate = this.gates.get(name)
    if (gate === undefined) {
      gate = Deferred.unsafeMake<void>(FiberId.none)
      this.gates.set(name, gate)
    }
    return gate
  }

  /** Opens a gate: every call waiting on it (now or later) proceeds. */
  open(name: string): Effect.Effect<void> {
    return Deferred.succeed(this.gate(name), undefined).pipe(Effect.asVoid)
  }

  /** Waits until the `n`-th call (from 1) of `key` started; returns it. */
  started(key: string, n = 1): Effect.Effect<Call> {
    return Deferred.await(this.signal(key, n))
  }

  /** Waits until the interruption finalizer of a call of `key` ran. */
  interruptedCall(key: string): Effect.Effect<void> {
    return Deferred.await(this.interruptSignal(key))
  }

  private interruptSignal(key: string): Deferred.Deferred<void> {
    let d = this.interrupts.get(key)
    if (d === undefined) {
      d = Deferred.unsafeMake<void>(FiberId.none)
      this.interrupts.set(key, d)
    }
    return d
  }

  /** How many times `key` was called. */
  count(key: string): number {
    return this.calls.filter((c) => c.key === key).length
  }

  /** The keys of all calls, in the order they started. */
  order(): Array<string> {
    return this.calls.map((c) => c.key)
  }

  /** Wraps a handler body: records the call, tracks concurrency and interruption. */
  private instrument<A>(
    key: string,
    params: unknown,
    attempt: number,
    body: (n: number) => Effect.Effect<A, ProviderError.ProviderError>
  ): Effect.Effect<A, ProviderError.ProviderError> {
    return Effect.gen(this, function*() {
      const at = yield* Clock.currentTimeMillis
      const call: Call = { key, attempt, at, params }
      this.calls.push(call)
      const n = this.count(key)
      this.running++
      this.maxRunning = Math.max(this.maxRunning, this.running)
      yield* Deferred.succeed(this.signal(key, n), call)
      return yield* body(n).pipe(
        Effect.onInterrupt(() =>
          Effect.zipRight(
            Effect.sync(() => this.interrupted.push(key)),
            Deferred.succeed(this.interruptSignal(key), undefined)
          )
        ),
        Effect.ensuring(Effect.sync(() => this.running--))
      )
    })
  }

  /** The functions to register. */
  readonly functions: ReadonlyArray<FnProvider.Definition> = [
    FnProvider.make(
      "work",
      (p, ctx) =>
        this.instrument(p.key, p, ctx.attempt, () =>
          Effect.gen(this, function*() {
            if (p.wait !== undefined) yield* Deferred.await(this.gate(p.wait))
            // Let other attempts interleave, so overlapping attempts really overlap.
            yield* Effect.yieldNow()
            return p.value ?? p.key
          })),
      { params: WorkParams }
    ),
    FnProvider.make(
      "fail",
      (p, ctx) =>
        this.instrument(p.key, p, ctx.attempt, (n) =>
          Effect.gen(this, function*() {
            if (p.wait !== undefined && n >= (p.waitFrom ?? 1)) yield* Deferred.await(this.gate(p.wait))
            if (p.failures === undefined || n <= p.failures) return yield* providerError("fail", reasonOf(p.reason))
            return { calls: n }
          })),
      { params: FailParams }
    ),
    FnProvider.make("echo", (p, ctx) => this.instrument("echo", p, ctx.attempt, () => Effect.succeed(p as Json.Json))),
    FnProvider.make(
      "typed",
      (p, ctx) => this.instrument("typed", p, ctx.attempt, () => Effect.succeed(p.n * 2)),
      { params: Schema.Struct({ n: Schema.Number }) }
    ),
    FnProvider.make("die", (p, ctx) => this.instrument("die", p, ctx.attempt, () => Effect.die(new Error("kaputt")))),
    FnProvider.make("throw", (p, ctx) =>
      this.instrument("throw", p, ctx.attempt, () =>
        Effect.sync(() => {
          throw new Error("thrown inside an effect")
        }))),
    FnProvider.sync("throwSync", () => {
      this.calls.push({ key: "throwSync", attempt: 0, at: 0, params: {} })
      throw new Error("thrown by a plain function")
    }),
    FnProvider.make(
      "selfInterrupt",
      (p, ctx) => this.instrument("selfInterrupt", p, ctx.attempt, () => Effect.interrupt)
    ),
    FnProvider.make(
      "big",
      (p, ctx) => this.instrument("big", p, ctx.attempt, () => Effect.succeed("x".repeat(p.size))),
      { params: Schema.Struct({ size: Schema.Number }) }
    ),
    FnProvider.make(
      "emit",
      (p, ctx) =>
        this.instrument(
          "emit",
          p,
          ctx.attempt,
          () => Effect.as(Effect.forEach(p.lines, (line) => ctx.emit("log", line), { discard: true }), p.lines.length)
        ),
      { params: Schema.Struct({ lines: Schema.Array(Schema.String) }) }
    )
  ]
}

/** Makes a probe. */
export const makeProbe: Effect.Effect<Probe> = Effect.sync(() => new Probe())

/** A probe and a runtime serving its functions. */
export const setup = (options: Partial<Embedded.Options> = {}) =>
  Effect.gen(function*() {
    const probe = yield* makeProbe
    const runtime = yield* makeRuntime({ ...options, functions: probe.functions })
    return { probe, runtime }
  })

/** The journaled tasks of a run by id. */
export const tasksById = (runtime: Runtime, runId: string) =>
  Effect.map(runtime.journal.tasks(runId), (tasks) => new Map(tasks.map((t) => [t.taskId, t])))

/** The `_tag` of a journaled error (a task's or an attempt's). */
export const errorTag = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null ? (error as { _tag?: string })._tag : undefined

/** The `reason._tag` of a journaled ProviderError. */
export const reasonTag = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null
    ? (error as { reason?: { _tag?: string } }).reason?._tag
    : undefined

/** Asserts the status of each task of a run. */
export const assertStatuses = (runtime: Runtime, runId: string, expected: Record<string, string>) =>
  Effect.gen(function*() {
    const tasks = yield* tasksById(runtime, runId)
    const actual: Record<string, string> = {}
    for (const id of Object.keys(expected)) actual[id] = tasks.get(id)?.status ?? "missing"
    assert.deepStrictEqual(actual, expected)
  })
