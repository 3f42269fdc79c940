/**
 * Helpers of the Python sandbox tests: a provider under test per backend, calls with a chosen task id, and looks
 * at the host (processes by their command line, containers by label) to check that nothing is left running.
 */
import { assert } from "@effect/vitest"
import type { Json, ProviderError } from "@gleitzeit/core"
import { DockerSandbox, PathPolicy, type Provider, PythonConfig, PythonProvider } from "@gleitzeit/providers"
import Docker from "dockerode"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { readdirSync, readFileSync } from "node:fs"
import * as SandboxTestConfig from "./SandboxTestConfig.js"

/** The components the tests use. */
export const components = Effect.runSync(SandboxTestConfig.load)

/** The Python provider under test. */
export class Python extends Context.Tag("test/Python")<Python, Provider.Provider>() {}

/** The provider over one backend, with the tests' Docker engine and image, reading `file` params within `files`. */
export const layer = (
  backend: PythonConfig.Backend,
  settings: PythonConfig.PartialSettings = {},
  files: Partial<PathPolicy.Settings> = {}
): Layer.Layer<Python> =>
  Layer.effect(Python, PythonProvider.make).pipe(
    Layer.provide(PythonProvider.layerSandbox),
    Layer.provide(PathPolicy.layer(files)),
    Layer.provide(
      PythonConfig.PythonConfig.layer({
        backend,
        ...settings,
        docker: { socketPath: components.socketPath, image: components.image, ...settings.docker }
      })
    )
  )

/** A call context naming the task (the task id is part of the sandbox's label, so tests can find it). */
export const ctxFor = (taskId: string): Provider.ExecuteContext => ({
  runId: "python-test",
  taskId,
  attempt: 1,
  idempotencyKey: `python-test/${taskId}`,
  emit: () => Effect.void
})

/** Calls a method of the provider under test with params decoded by the method's schema. */
export const call = (
  method: "python/execute" | "python/validate",
  params: unknown,
  taskId = "task"
): Effect.Effect<Json.Json, ProviderError.ProviderError, Python> =>
  Effect.flatMap(Python, (python) => {
    const spec = python.spec.methods.find((m) => m.name === method)!
    return python.execute(spec, Schema.decodeUnknownSync(spec.params)(params), ctxFor(taskId))
  })

/** The result of `python/execute`. */
export interface ExecuteResult {
  readonly result: Json.Json
  readonly stdout: string
  readonly stderr: string
  readonly exit_code: number
  readonly duration_ms: number
}

/** Runs code; returns the result. */
export const execute = (params: Record<string, unknown>, taskId?: string) =>
  Effect.map(call("python/execute", params, taskId), (r) => r as unknown as ExecuteResult)

/** Runs code that must fail; returns the error. */
export const executeFailing = (params: Record<string, unknown>, taskId?: string) => Effect.flip(execute(params, taskId))

/** Host processes whose command line contains `text` (sandboxed ones included: they share our kernel). */
export const processesMatching = (text: string): Array<number> => {
  const found: Array<number> = []
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(text)) found.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** Waits (up to 10 s) until no host process has `text` in its command line; fails the test otherwise. */
export const noProcessLeft = (text: string) =>
  Effect.suspend(() => {
    const left = processesMatching(text)
    return left.length === 0 ? Effect.void : Effect.fail(left)
  }).pipe(
    Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 200 }),
    Effect.catchAll((left) => Effect.sync(() => assert.fail(`processes of ${text} still run: ${left.join(", ")}`)))
  )

/** The tests' Docker engine. */
export const docker = new Docker({ socketPath: components.socketPath })

/** Containers (running or not) owned by this process, optionally only those whose execution label has `text`. */
export const ourContainers = (text?: string) =>
  Effect.promise(() =>
    docker.listContainers({ all: true, filters: { label: [`${DockerSandbox.ownerLabel}=${DockerSandbox.owner}`] } })
  ).pipe(
    Effect.map((list) =>
      text === undefined ? list : list.filter((c) => (c.Labels[DockerSandbox.executionLabel] ?? "").includes(text))
    )
  )

/** Waits (up to 10 s) until no container of ours matches; fails the test otherwise. */
export const noContainerLeft = (text?: string) =>
  Effect.flatMap(ourContainers(text), (list) => list.length === 0 ? Effect.void : Effect.fail(list)).pipe(
    Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 }),
    Effect.catchAll((list) =>
      Effect.sync(() =>
        assert.fail(`containers left: ${list.map((c) => `${c.Id.slice(0, 12)} ${c.State}`).join(", ")}`)
      )
    )
  )

/** Milliseconds an effect takes (wall clock). */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.timed(effect), ([duration, a]) => [Duration.toMillis(duration), a] as const)
