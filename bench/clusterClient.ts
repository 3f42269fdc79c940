/**
 * The cluster bench's client: `Cluster.layerClient` (a client-only member: it journals runs and sends their starts,
 * the nodes execute them) driven with plain promises, like the embedded bench. Workflows are validated against the
 * built-in providers' catalog (the demo tools and `http/request`, which every node serves).
 */
import { type Workflow, WorkflowLoader } from "@gleitzeit/core"
import { ProviderRegistry } from "@gleitzeit/providers"
import { Cluster, Embedded, Engine } from "@gleitzeit/runtime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"

/** A client of one bench cluster. */
export interface Client {
  /** Validates a workflow document. */
  readonly load: (doc: unknown) => Promise<Workflow.Workflow>
  /** Journals a run and hands it to the cluster; returns its id. */
  readonly submit: (workflow: Workflow.Workflow) => Promise<string>
  /** Waits for a run's end (the client polls the journal); rejects after `timeoutMs`. */
  readonly wait: (runId: string, timeoutMs: number) => Promise<Engine.Outcome>
  /** Submits a run and waits for its end; rejects after `timeoutMs`. */
  readonly execute: (workflow: Workflow.Workflow, timeoutMs: number) => Promise<Engine.Outcome>
  readonly dispose: () => Promise<void>
}

/**
 * Joins the cluster of database `url` as a client. Building it migrates the journal's and the cluster's tables, so
 * nodes started afterwards do not race each other creating them.
 */
export const make = async (url: string): Promise<Client> => {
  const runtime = ManagedRuntime.make(
    Layer.mergeAll(Cluster.layerClient({ database: url, name: "bench-client" }), Embedded.layerProviders()).pipe(
      Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )
  )
  const engine = await runtime.runPromise(Engine.Engine)
  const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
  const within = <A, E>(effect: Effect.Effect<A, E>, timeoutMs: number, what: string) =>
    effect.pipe(
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMs),
        onTimeout: () => new Error(`${what}: no outcome within ${timeoutMs} ms`)
      })
    )
  return {
    load: (doc) =>
      runtime.runPromise(
        WorkflowLoader.fromObject(doc, { catalog: registry.catalog() }).pipe(
          Effect.map((loaded) => loaded.workflow),
          Effect.orDie
        )
      ),
    submit: (workflow) => runtime.runPromise(engine.submit(workflow)),
    wait: (runId, timeoutMs) => runtime.runPromise(within(engine.wait(runId), timeoutMs, `run ${runId}`)),
    execute: (workflow, timeoutMs) =>
      runtime.runPromise(within(engine.execute(workflow), timeoutMs, `run of ${workflow.name}`)),
    dispose: () => runtime.dispose()
  }
}
