import { assert, describe, it } from "@effect/vitest"
import { ProviderError } from "@gleitzeit/core"
import { Hub } from "@gleitzeit/providers"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"

const inst = (
  id: string,
  extra: Partial<Omit<Hub.InstanceOptions<string>, "id" | "resource">> = {}
): Hub.InstanceOptions<string> => ({ id, endpoint: `http://${id}.test`, resource: `resource-${id}`, ...extra })

const failure = (reason: ProviderError.Reason) =>
  ProviderError.make({ provider: "test", method: "test/call", reason, message: `failed: ${reason._tag}` })

const serve = (hub: Hub.Hub<string>, request: Hub.Request = {}) => hub.use(request, (i) => Effect.succeed(i.id))

const serveN = (hub: Hub.Hub<string>, n: number, request: Hub.Request = {}) =>
  Effect.forEach(Array.from({ length: n }), () => serve(hub, request))

const count = (ids: ReadonlyArray<string>, id: string) => ids.filter((x) => x === id).length

/** Starts a call that holds its instance until `gate` opens; returns the instance id and the call's fiber. */
const hold = (hub: Hub.Hub<string>, gate: Deferred.Deferred<void>, request: Hub.Request = {}) =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<string>()
    const fiber = yield* Effect.fork(
      hub.use(request, (i) =>
        Deferred.succeed(started, i.id).pipe(
          Effect.zipRight(Deferred.await(gate)),
          Effect.as(i.id)
        ))
    )
    const id = yield* Deferred.await(started)
    return { id, fiber }
  })

const statusOf = (hub: Hub.Hub<string>, id: string) =>
  Effect.map(hub.instances, (all) => {
    const found = all.find((s) => s.instance.id === id)
    assert.isDefined(found, `instance ${id}`)
    return found!
  })

const metricsOf = (hub: Hub.Hub<string>, id: string) =>
  Effect.map(hub.metrics, (all) => {
    const found = all.find((m) => m.id === id)
    assert.isDefined(found, `metrics of ${id}`)
    return found!
  })

/** A health check whose verdict per instance the test sets, counting checks. */
const controlledCheck = () => {
  const verdicts = new Map<string, Hub.CheckResult>()
  const checks = new Map<string, number>()
  const check = (i: Hub.Instance<string>) =>
    Effect.sync(() => {
      checks.set(i.id, (checks.get(i.id) ?? 0) + 1)
      return verdicts.get(i.id) ?? { healthy: true }
    })
  return { verdicts, checks, check }
}

describe("Hub selection strategies", () => {
  it.scoped("round_robin cycles through eligible instances in the order added, skipping ineligible ones", () =>
    Effect.gen(function*() {
      const { check, verdicts } = controlledCheck()
      const hub = yield* Hub.make({ name: "t", check, instances: [inst("a"), inst("b"), inst("c")] })
      assert.deepStrictEqual(yield* serveN(hub, 6), ["a", "b", "c", "a", "b", "c"])
      verdicts.set("b", { healthy: false })
      yield* hub.checkNow("b")
      assert.deepStrictEqual(yield* serveN(hub, 4), ["a", "c", "a", "c"])
    }))

  it.scoped("least_loaded sends each call to the instance with the fewest calls in flight", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ name: "t", strategy: "least_loaded", instances: [inst("a"), inst("b"), inst("c")] })
      const gate = yield* Deferred.make<void>()
      const first = yield* hold(hub, gate)
      const second = yield* hold(hub, gate)
      assert.deepStrictEqual([first.id, second.id], ["a", "b"])
      // round robin would continue with c, a, b; the idle instance takes every call instead
      assert.deepStrictEqual(yield* serveN(hub, 3), ["c", "c", "c"])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first.fiber)
      yield* Fiber.join(second.fiber)
      assert.strictEqual((yield* metricsOf(hub, "a")).inFlight, 0)
    }))

  it.scoped("random picks uniformly through Effect's Random service", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ name: "t", strategy: "random", instances: [inst("a"), inst("b"), inst("c")] })
      const picked = yield* serveN(hub, 4).pipe(Effect.withRandom(Random.fixed([0.1, 0.5, 0.9, 0.4])))
      assert.deepStrictEqual(picked, ["a", "b", "c", "b"])
      const seeded = yield* serveN(hub, 300).pipe(Effect.withRandom(Random.make("random-strategy")))
      for (const id of ["a", "b", "c"]) assert.isAbove(count(seeded, id), 70, id)
    }))

  it.scoped("weighted_random picks in proportion to weight, never weight 0, and follows update", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({
        name: "t",
        strategy: "weighted_random",
        instances: [inst("a", { weight: 1 }), inst("b", { weight: 3 }), inst("c", { weight: 0 })]
      })
      // total weight 4: 0.1 → 0.4 (a), 0.3 → 1.2 (b), 0.6 → 2.4 (b), 0.99 → 3.96 (b)
      const picked = yield* serveN(hub, 4).pipe(Effect.withRandom(Random.fixed([0.1, 0.3, 0.6, 0.99])))
      assert.deepStrictEqual(picked, ["a", "b", "b", "b"])
      const seeded = yield* serveN(hub, 400).pipe(Effect.withRandom(Random.make("weighted")))
      assert.strictEqual(count(seeded, "c"), 0)
      assert.isAbove(count(seeded, "b"), 250)
      assert.isBelow(count(seeded, "b"), 350)
      assert.isTrue(yield* hub.update("c", { weight: 1 }))
      // total weight 5 now: 0.99 → 4.95 falls in c's share
      assert.deepStrictEqual(yield* serveN(hub, 1).pipe(Effect.withRandom(Random.fixed([0.99]))), ["c"])
    }))

  it.scoped("least_response_time tries untried instances first, then keeps to the lowest latency EWMA", () =>
    Effect.gen(function*() {
      const latency: Record<string, number> = { a: 100, b: 10, c: 50 }
      const hub = yield* Hub.make({
        name: "t",
        strategy: "least_response_time",
        instances: [inst("a"), inst("b"), inst("c")]
      })
      const timed = (i: Hub.Instance<string>) => TestClock.adjust(Duration.millis(latency[i.id]!)).pipe(Effect.as(i.id))
      const picked = yield* Effect.forEach(Array.from({ length: 6 }), () => hub.use({}, timed))
      assert.deepStrictEqual(picked, ["a", "b", "c", "b", "b", "b"])
      assert.strictEqual((yield* metricsOf(hub, "b")).latencyMs?.ewma, 10)
    }))

  it.scoped("hash_based keeps a key on one instance, and only a removed instance's keys move", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ name: "t", strategy: "hash_based", instances: [inst("a"), inst("b"), inst("c")] })
      const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`)
      const owners = yield* Effect.forEach(keys, (key) => serve(hub, { key }))
      assert.deepStrictEqual(yield* Effect.forEach(keys, (key) => serve(hub, { key })), owners)
      for (const id of ["a", "b", "c"]) assert.isAbove(count(owners, id), 0, `${id} owns some keys`)
      yield* hub.remove("c")
      const after = yield* Effect.forEach(keys, (key) => serve(hub, { key }))
      keys.forEach((key, i) => {
        if (owners[i] === "c") assert.notStrictEqual(after[i], "c", key)
        else assert.strictEqual(after[i], owners[i], key)
      })
      // without a key: round robin
      assert.deepStrictEqual(yield* serveN(hub, 2), ["a", "b"])
    }))

  it.scoped("priority_based uses the best tier (lowest first by default) by round robin, then the next tier", () =>
    Effect.gen(function*() {
      const { check, verdicts } = controlledCheck()
      const instances = [inst("a", { priority: 2 }), inst("b", { priority: 1 }), inst("c", { priority: 1 })]
      const hub = yield* Hub.make({ name: "t", strategy: "priority_based", check, instances })
      assert.deepStrictEqual(yield* serveN(hub, 4), ["b", "c", "b", "c"])
      verdicts.set("b", { healthy: false })
      verdicts.set("c", { healthy: false })
      yield* hub.checkNow()
      assert.deepStrictEqual(yield* serveN(hub, 2), ["a", "a"])
      const highest = yield* Hub.make({
        name: "t",
        strategy: "priority_based",
        priorityOrder: "highest_first",
        instances
      })
      assert.deepStrictEqual(yield* serveN(highest, 2), ["a", "a"])
    }))

  it.scoped("adaptive sends most calls to the fast, reliable instance and a few to the slow and the failing one", () =>
    Effect.gen(function*() {
      const latency: Record<string, number> = { a: 10, b: 500, c: 10 }
      const hub = yield* Hub.make({
        name: "t",
        strategy: "adaptive",
        failureThreshold: 1000,
        instances: [inst("a"), inst("b"), inst("c")]
      })
      const call = (request: Hub.Request) =>
        hub.use(request, (i) =>
          TestClock.adjust(Duration.millis(latency[i.id]!)).pipe(
            Effect.zipRight(i.id === "c" ? Effect.fail(failure({ _tag: "Unavailable" })) : Effect.succeed(i.id))
          )).pipe(Effect.orElseSucceed(() => "c"))
      // warm up: three calls each, by round robin
      yield* Effect.forEach(Array.from({ length: 9 }), () => call({ strategy: "round_robin" }))
      const picked = yield* Effect.forEach(Array.from({ length: 200 }), () => call({})).pipe(
        Effect.withRandom(Random.make("adaptive"))
      )
      assert.isAbove(count(picked, "a"), 170)
      assert.isAbove(count(picked, "b"), 0)
      assert.isAbove(count(picked, "c"), 0)
    }))

  it.scoped("model_affinity sends a model to the instance that last served it, falling back when it cannot", () =>
    Effect.gen(function*() {
      const { check, verdicts } = controlledCheck()
      const models = ["m1", "m2"]
      const hub = yield* Hub.make({
        name: "llm",
        strategy: "model_affinity",
        check,
        instances: [inst("a", { capabilities: models }), inst("b", { capabilities: models })]
      })
      const model = (m: string) => serve(hub, { capability: m })
      const first = yield* Effect.all([model("m1"), model("m2"), model("m1"), model("m1"), model("m2")])
      assert.deepStrictEqual(first, ["a", "b", "a", "a", "b"])
      verdicts.set("a", { healthy: false })
      yield* hub.checkNow("a")
      assert.strictEqual(yield* model("m1"), "b")
      verdicts.set("a", { healthy: true })
      yield* hub.checkNow("a")
      // b served m1 last, so m1 stays there
      assert.deepStrictEqual(yield* Effect.all([model("m1"), model("m2"), model("m1")]), ["b", "b", "b"])
    }))
})

describe("Hub circuit breaker", () => {
  const down = (_: Hub.Instance<string>) => Effect.fail(failure({ _tag: "Unavailable" }))

  it.scoped("opens after N consecutive failures, half-opens after the reset timeout, closes on a trial success", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({
        name: "t",
        failureThreshold: 3,
        resetTimeout: "30 seconds",
        instances: [inst("a")]
      })
      for (let i = 1; i <= 2; i++) {
        yield* Effect.flip(hub.use({}, down))
        assert.deepStrictEqual((yield* statusOf(hub, "a")).breaker, { state: "closed", consecutiveFailures: i })
      }
      yield* Effect.flip(hub.use({}, down))
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "open")
      const refused = yield* Effect.flip(serve(hub))
      assert.include(refused.message, "a (circuit open (half-open in 30s))")

      yield* TestClock.adjust("29 seconds")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "open")
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "half_open")

      const gate = yield* Deferred.make<void>()
      const trial = yield* hold(hub, gate)
      const second = yield* Effect.flip(serve(hub))
      assert.include(second.message, "a (circuit half-open, trial call in flight)")
      yield* Deferred.succeed(gate, undefined)
      assert.strictEqual(yield* Fiber.join(trial.fiber), "a")
      assert.deepStrictEqual((yield* statusOf(hub, "a")).breaker.state, "closed")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.consecutiveFailures, 0)
      assert.deepStrictEqual(yield* serveN(hub, 2), ["a", "a"])
    }))

  it.scoped("a failed half-open trial opens the breaker again for another full reset timeout", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({
        name: "t",
        failureThreshold: 1,
        resetTimeout: "30 seconds",
        instances: [inst("a")]
      })
      yield* Effect.flip(hub.use({}, down))
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "half_open")
      const trial = yield* Effect.flip(hub.use({}, () => Effect.fail(failure({ _tag: "Timeout" }))))
      assert.deepStrictEqual(trial.reason, { _tag: "Timeout" })
      const reopened = (yield* statusOf(hub, "a")).breaker
      assert.strictEqual(reopened.state, "open")
      assert.strictEqual(reopened.openedAt, 30_000)
      yield* TestClock.adjust("29 seconds")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "open")
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "half_open")
      assert.deepStrictEqual(yield* serveN(hub, 1), ["a"])
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "closed")
    }))

  it.scoped("only instance failures count (Unavailable, Timeout, BadResponse, 5xx), not 4xx or invalid requests", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ name: "t", failureThreshold: 2, instances: [inst("a")] })
      const failWith = (error: unknown) => Effect.flip(hub.use({}, () => Effect.fail(error)))
      const harmless: Array<unknown> = [
        failure({ _tag: "InvalidParams" }),
        failure({ _tag: "NotFound" }),
        failure({ _tag: "HttpStatus", status: 404 }),
        failure({ _tag: "HttpStatus", status: 429 }),
        failure({ _tag: "RateLimited" }),
        failure({ _tag: "ExecutionFailed" }),
        "not a ProviderError"
      ]
      for (const error of [...harmless, ...harmless]) yield* failWith(error)
      assert.deepStrictEqual((yield* statusOf(hub, "a")).breaker, { state: "closed", consecutiveFailures: 0 })
      assert.strictEqual((yield* metricsOf(hub, "a")).errors, 14)

      yield* failWith(failure({ _tag: "HttpStatus", status: 503 }))
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.consecutiveFailures, 1)
      yield* serve(hub)
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.consecutiveFailures, 0, "a success restarts the count")
      yield* failWith(failure({ _tag: "BadResponse" }))
      yield* failWith(failure({ _tag: "Timeout" }))
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "open")
    }))

  it.scoped("an interrupted call counts as neither success nor failure, and frees a half-open trial", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({
        name: "t",
        failureThreshold: 1,
        resetTimeout: "10 seconds",
        instances: [inst("a")]
      })
      const gate = yield* Deferred.make<void>()
      const held = yield* hold(hub, gate)
      yield* Fiber.interrupt(held.fiber)
      const m = yield* metricsOf(hub, "a")
      assert.deepStrictEqual(
        [m.requests, m.successes, m.errors, m.interrupted, m.inFlight, m.errorRate],
        [1, 0, 0, 1, 0, 0]
      )
      assert.isUndefined(m.latencyMs)
      assert.deepStrictEqual((yield* statusOf(hub, "a")).breaker, { state: "closed", consecutiveFailures: 0 })

      yield* Effect.flip(hub.use({}, down))
      yield* TestClock.adjust("10 seconds")
      const trial = yield* hold(hub, gate)
      yield* Fiber.interrupt(trial.fiber)
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "half_open")
      assert.deepStrictEqual(yield* serveN(hub, 1), ["a"], "the next call is let through as the trial")
      assert.strictEqual((yield* statusOf(hub, "a")).breaker.state, "closed")
    }))
})

describe("Hub health loop", () => {
  it.scoped("checks every interval on the clock, marks instances unhealthy/healthy, replaces capabilities", () =>
    Effect.gen(function*() {
      const { check, checks, verdicts } = controlledCheck()
      verdicts.set("a", { healthy: true, capabilities: ["m1"] })
      verdicts.set("b", { healthy: true, capabilities: ["m1"] })
      const hub = yield* Hub.make({
        name: "llm",
        capabilityName: "model",
        check,
        checkInterval: "10 seconds",
        instances: [inst("a"), inst("b")]
      })
      // the first check ran during add: capabilities learned, both healthy
      assert.deepStrictEqual((yield* statusOf(hub, "a")).instance.capabilities, ["m1"])
      assert.deepStrictEqual(yield* hub.health, { status: "healthy" })

      verdicts.set("a", { healthy: false, detail: "connection refused" })
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* statusOf(hub, "a")).health.status, "healthy")
      yield* TestClock.adjust("1 second")
      const a = (yield* statusOf(hub, "a")).health
      assert.deepStrictEqual(a, { status: "unhealthy", detail: "connection refused", checkedAt: 10_000 })
      assert.deepStrictEqual(yield* serveN(hub, 3, { capability: "m1" }), ["b", "b", "b"])
      const health = yield* hub.health
      assert.strictEqual(health.status, "degraded")
      assert.include(health.detail ?? "", "a (unhealthy: connection refused)")

      verdicts.set("a", { healthy: true, capabilities: ["m2"] })
      yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual((yield* statusOf(hub, "a")).health.status, "healthy")
      assert.deepStrictEqual((yield* statusOf(hub, "a")).instance.capabilities, ["m2"])
      assert.strictEqual(yield* serve(hub, { capability: "m2" }), "a")
      assert.deepStrictEqual(yield* serveN(hub, 2, { capability: "m1" }), ["b", "b"])
      assert.deepStrictEqual([checks.get("a"), checks.get("b")], [3, 3])
    }))

  it.scoped("a check that fails, dies or outlasts checkTimeout marks the instance unhealthy with the reason", () =>
    Effect.gen(function*() {
      const check = (i: Hub.Instance<string>): Effect.Effect<Hub.CheckResult, Error> =>
        i.id === "a"
          ? Effect.fail(new Error("connect ECONNREFUSED"))
          : i.id === "b"
          ? Effect.die(new Error("kaput"))
          : Effect.never
      const making = yield* Effect.fork(
        Hub.make({ name: "t", check, checkTimeout: "5 seconds", instances: [inst("a"), inst("b"), inst("c")] })
      )
      yield* TestClock.adjust("5 seconds")
      const hub = yield* Fiber.join(making)
      const details = yield* Effect.map(hub.instances, (all) => all.map((s) => [s.health.status, s.health.detail]))
      assert.deepStrictEqual(details, [
        ["unhealthy", "connect ECONNREFUSED"],
        ["unhealthy", "health check died: kaput"],
        ["unhealthy", "health check timed out after 5s"]
      ])
      assert.strictEqual((yield* hub.health).status, "unhealthy")
    }))

  it.scoped("a removed instance takes no calls and is no longer checked; its id can be added again", () =>
    Effect.gen(function*() {
      const { check, checks } = controlledCheck()
      const hub = yield* Hub.make({ name: "t", check, checkInterval: "1 second", instances: [inst("a"), inst("b")] })
      assert.isTrue(yield* hub.remove("b"))
      assert.isFalse(yield* hub.remove("b"))
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual([checks.get("a"), checks.get("b")], [4, 1])
      assert.deepStrictEqual(yield* serveN(hub, 3), ["a", "a", "a"])
      const again = yield* Effect.flip(hub.add(inst("a")))
      assert.strictEqual(again._tag, "DuplicateInstance")
      yield* hub.add(inst("b"))
      assert.deepStrictEqual(yield* serveN(hub, 2), ["b", "a"])
    }))
})

describe("Hub requests", () => {
  it.scoped("sends a call only to instances having the requested capability and every requested tag", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({
        name: "llm",
        matchCapability: (have, want) => have === want || have === `${want}:latest`,
        instances: [
          inst("a", { capabilities: ["m1:latest"], tags: ["gpu"] }),
          inst("b", { capabilities: ["m1", "m2"] }),
          inst("c", { capabilities: ["m2"], tags: ["gpu", "eu"] })
        ]
      })
      assert.deepStrictEqual(yield* serveN(hub, 3, { capability: "m1", tags: ["gpu"] }), ["a", "a", "a"])
      assert.deepStrictEqual(yield* serveN(hub, 4, { capability: "m2" }), ["b", "c", "b", "c"])
      assert.deepStrictEqual(yield* serveN(hub, 4, { tags: ["gpu"] }), ["a", "c", "a", "c"])
      assert.deepStrictEqual(yield* serveN(hub, 2, { tags: ["gpu", "eu"] }), ["c", "c"])
    }))

  it.scoped("with no eligible instance, fails with ProviderError Unavailable saying why for each instance", () =>
    Effect.gen(function*() {
      const { check, verdicts } = controlledCheck()
      verdicts.set("a", { healthy: false, detail: "connection refused" })
      const hub = yield* Hub.make({
        name: "llm",
        capabilityName: "model",
        check,
        instances: [
          inst("a", { capabilities: ["m3"], tags: ["gpu"] }),
          inst("b", { capabilities: ["m1"], tags: ["gpu"] }),
          inst("c", { capabilities: ["m3"] }),
          inst("d", { capabilities: ["m3"], tags: ["gpu"], maxInFlight: 1 })
        ]
      })
      const gate = yield* Deferred.make<void>()
      assert.strictEqual((yield* hold(hub, gate, { capability: "m3", tags: ["gpu"] })).id, "d")
      const error = yield* Effect.flip(serve(hub, { capability: "m3", tags: ["gpu"], method: "llm/chat" }))
      assert.instanceOf(error, ProviderError.ProviderError)
      assert.deepStrictEqual(error.reason, { _tag: "Unavailable" })
      assert.isTrue(error.retryable)
      assert.strictEqual(error.provider, "llm")
      assert.strictEqual(error.method, "llm/chat")
      assert.strictEqual(
        error.message,
        "llm: no eligible instance for model 'm3' with tags gpu; instances: a (unhealthy: connection refused), " +
          "b (no model 'm3'), c (missing tags: gpu), d (at capacity (1 in flight))"
      )
      const empty = yield* Hub.make<string>({ name: "mcp" })
      const none = yield* Effect.flip(serve(empty))
      assert.strictEqual(none.message, "mcp: no eligible instance; the hub has no instances")
    }))

  it.scoped("retryOnOtherInstance moves a retryable failure elsewhere, returning the last one when none is left", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({
        name: "t",
        retryOnOtherInstance: 5,
        instances: [inst("a"), inst("b"), inst("c")]
      })
      const failing = new Set(["a"])
      const call = (i: Hub.Instance<string>) =>
        failing.has(i.id) ? Effect.fail(failure({ _tag: "Unavailable" })) : Effect.succeed(i.id)
      assert.strictEqual(yield* hub.use({}, call), "b")
      assert.deepStrictEqual(
        yield* Effect.forEach(["a", "b", "c"], (id) => Effect.map(metricsOf(hub, id), (m) => [m.errors, m.successes])),
        [[1, 0], [0, 1], [0, 0]]
      )
      failing.add("b").add("c")
      const codes: Record<string, number> = { a: 501, b: 502, c: 503 }
      const status = (i: Hub.Instance<string>) => Effect.fail(failure({ _tag: "HttpStatus", status: codes[i.id]! }))
      const last = yield* Effect.flip(hub.use({}, status))
      assert.deepStrictEqual(last.reason, { _tag: "HttpStatus", status: 502 }, "c, then a, then b (the last) failed")
      assert.deepStrictEqual(
        yield* Effect.map(hub.metrics, (all) => all.map((m) => m.requests)),
        [2, 2, 1],
        "each instance was tried at most once per call although 5 retries were allowed"
      )
      const once = yield* Effect.flip(hub.use({ retryOnOtherInstance: 0 }, call))
      assert.deepStrictEqual(once.reason, { _tag: "Unavailable" })
      assert.strictEqual((yield* metricsOf(hub, "c")).requests, 2)
    }))

  it.scoped("a failure that is not retryable is not tried on another instance", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ name: "t", retryOnOtherInstance: 2, instances: [inst("a"), inst("b")] })
      const error = yield* Effect.flip(hub.use({}, () => Effect.fail(failure({ _tag: "InvalidParams" }))))
      assert.deepStrictEqual(error.reason, { _tag: "InvalidParams" })
      assert.deepStrictEqual(yield* Effect.map(hub.metrics, (all) => all.map((m) => m.requests)), [1, 0])
    }))
})

describe("Hub metrics and lifecycle", () => {
  it.scoped("metrics give counts, error rate, p50/p95/p99 over a bounded window, counters and throughput", () =>
    Effect.gen(function*() {
      const hub = yield* Hub.make({ name: "t", latencyWindow: 100, instances: [inst("a")] })
      const after = (ms: number) => (i: Hub.Instance<string>) =>
        TestClock.adjust(Duration.millis(ms)).pipe(Effect.as(i.id))
      yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i + 1), (ms) => hub.use({}, after(ms)))
      yield* Effect.forEach(Array.from({ length: 25 }), () => Effect.flip(hub.use({}, () => Effect.fail("boom"))))
      yield* hub.count("a", "tokens", 10_000)
      yield* hub.count("a", "tokens", 100)
      const m = yield* metricsOf(hub, "a")
      assert.deepStrictEqual([m.requests, m.successes, m.errors, m.errorRate, m.inFlight], [125, 100, 25, 0.2, 0])
      assert.deepStrictEqual([m.latencyMs?.samples, m.latencyMs?.p50, m.latencyMs?.p95, m.latencyMs?.p99], [
        100,
        50,
        95,
        99
      ])
      assert.strictEqual(m.busyMs, 5050)
      assert.deepStrictEqual(m.counters, { tokens: 10_100 })
      assert.closeTo(Hub.throughput(m, "tokens"), 2000, 1e-9)

      // the window keeps the latest 100 samples: 21..100 and twenty of 1000 ms
      yield* Effect.forEach(Array.from({ length: 20 }), () => hub.use({}, after(1000)))
      const later = (yield* metricsOf(hub, "a")).latencyMs
      assert.deepStrictEqual([later?.samples, later?.p50, later?.p95, later?.p99], [100, 70, 1000, 1000])
    }))

  it.effect("a scoped instance's resource is released after removal once its calls end, and with the hub", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const hub = yield* Hub.make<string>({ name: "docker" }).pipe(Scope.extend(scope))
      const released: Array<string> = []
      const acquire = (id: string) =>
        Effect.acquireRelease(Effect.succeed(`container-${id}`), () => Effect.sync(() => released.push(id)))
      const a = yield* hub.addScoped({ id: "a", endpoint: "docker://a" }, acquire("a"))
      yield* hub.addScoped({ id: "b", endpoint: "docker://b" }, acquire("b"))
      assert.strictEqual(a.resource, "container-a")

      const gate = yield* Deferred.make<void>()
      const held = yield* hold(hub, gate)
      assert.strictEqual(held.id, "a")
      yield* hub.remove("a")
      assert.deepStrictEqual(released, [], "not while a call still uses it")
      assert.deepStrictEqual(yield* serveN(hub, 2), ["b", "b"])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(held.fiber)
      assert.deepStrictEqual(released, ["a"])

      const duplicate = yield* Effect.flip(hub.addScoped({ id: "b", endpoint: "docker://b2" }, acquire("b2")))
      assert.strictEqual(duplicate._tag, "DuplicateInstance")
      const broken = yield* Effect.flip(
        hub.addScoped({ id: "c", endpoint: "docker://c" }, acquire("c").pipe(Effect.zipRight(Effect.fail("no image"))))
      )
      assert.strictEqual(broken, "no image")
      assert.deepStrictEqual(released, ["a", "c"], "what a failed acquisition had acquired is released at once")
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(released, ["a", "c", "b"])
    }))

  it.scoped("layer provides the hub under the consumer's tag and stops its health loops with the layer", () =>
    Effect.gen(function*() {
      class TestHub extends Context.Tag("test/TestHub")<TestHub, Hub.Hub<string>>() {}
      const { check, checks } = controlledCheck()
      const layer = Hub.layer(TestHub, { name: "t", check, checkInterval: "1 second", instances: [inst("a")] })
      const scope = yield* Scope.make()
      const hub = Context.get(yield* Layer.buildWithScope(layer, scope), TestHub)
      assert.deepStrictEqual(yield* serveN(hub, 1), ["a"])
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(checks.get("a"), 4)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(checks.get("a"), 4)
    }))
})
