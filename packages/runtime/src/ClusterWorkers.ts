/**
 * Task attempts in a cluster. A coordinator's `Executor` sends each attempt to the `TaskWorker` entity of its
 * routing key, wherever the cluster placed it; the worker executes it with the node's providers (the embedded
 * executor) and replies with the result and the output. When that entity lives on the coordinator's own node, the
 * attempt is executed right there, without a message.
 *
 * Dispatch is volatile: when the worker's node dies, is stopping, or the shard moves, the call fails without a task
 * failure, and the same attempt (same number, same idempotency key) is dispatched again, so the journal records it
 * once. A draining node refuses new attempts the same way. Interrupting the attempt (cancel, timeout, fail-fast)
 * interrupts the remote handler, whose finalizers abort the provider call on that node.
 */
import * as EntityId from "@effect/cluster/EntityId"
import { Sharding } from "@effect/cluster/Sharding"
import { TaskError } from "@gleitzeit/core"
import type { ProviderRegistry } from "@gleitzeit/providers"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  type AttemptChunk,
  attemptKey,
  type AttemptPayload,
  type AttemptReply,
  Refused,
  type Routing,
  streamsOutput,
  TaskWorker,
  workerKey
} from "./ClusterEntities.js"
import { LocalRuns } from "./ClusterRuns.js"
import { EngineConfig } from "./EngineConfig.js"
import { type Attempt, Executor, makeLocal, type Output } from "./Executor.js"
import * as Executions from "./internal/executions.js"

const isTaskFailure = Schema.is(TaskError.TaskFailure)

/**
 * The task workers hosted by this node: each attempt runs through the node's providers, at most `concurrency` at
 * once on this node.
 */
export const layerWorkers = (concurrency: number): Layer.Layer<
  never,
  never,
  Sharding | ProviderRegistry.ProviderRegistry | EngineConfig | LocalRuns
> =>
  TaskWorker.toLayer(
    Effect.gen(function*() {
      const local = yield* makeLocal
      const config = yield* EngineConfig
      const permits = yield* Effect.makeSemaphore(concurrency)
      const node = yield* LocalRuns

      const refusal = () => new Refused({ node: config.node, message: `node ${config.node} is draining` })

      /** Counts an attempt while it executes, so that a drain lets it finish. */
      const counted = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.suspend(() => {
          node.attempts++
          return effect.pipe(Effect.ensuring(Effect.sync(() => node.attempts--)))
        })

      /**
       * Executes one attempt. A defect of the attempt (a provider's bug) is the task's failure, not the worker's: it
       * must not make the cluster restart the entity and deliver the attempt again.
       */
      const run = (attempt: Attempt) =>
        local.execute(attempt).pipe(
          permits.withPermits(1),
          Effect.catchAllDefect((defect) =>
            Effect.fail(new TaskError.TaskDefect({ taskId: attempt.taskId, message: Cause.pretty(Cause.die(defect)) }))
          ),
          counted
        )

      // Requests for an attempt executing (or just executed) here join it instead of running it again.
      const executions = Executions.make(yield* Effect.scope)
      const start = (payload: AttemptPayload) =>
        executions.start(attemptKey(payload), (emit) => run({ ...payload, timeoutMs: payload.timeoutMs, emit }))

      return {
        Execute: ({ payload }) =>
          Effect.suspend((): Effect.Effect<AttemptReply, TaskError.TaskFailure | Refused> => {
            if (node.draining) return Effect.fail(refusal())
            return Effect.flatMap(start(payload), (execution) =>
              Effect.map(executions.await(execution), (output) => ({
                result: output.result,
                provider: output.provider,
                node: config.node,
                outputs: execution.outputs
              })))
          }),
        Cancel: ({ payload }) => executions.cancel(attemptKey(payload)),
        ExecuteStreaming: ({ payload }) =>
          node.draining
            ? Stream.fail(refusal())
            : Stream.unwrapScoped(Effect.gen(function*() {
              // Its reply streams back after the attempt: counted too, so a drain does not cut it off (a reply to
              // a client that died meanwhile may never end: the drain bounds that wait).
              node.replies++
              yield* Effect.addFinalizer(() => Effect.sync(() => node.replies--))
              const execution = yield* start(payload)
              const replies = yield* Mailbox.make<AttemptChunk, TaskError.TaskFailure>()
              // What it emitted before this request joined, then the rest as it comes.
              const forward = (output: Executions.Emitted) => replies.unsafeOffer({ _tag: "Output", ...output })
              for (const output of execution.outputs) forward(output)
              execution.listeners.add(forward)
              yield* Effect.addFinalizer(() => Effect.sync(() => execution.listeners.delete(forward)))
              yield* Effect.forkScoped(
                executions.await(execution).pipe(
                  Effect.matchCauseEffect({
                    onFailure: (cause) => replies.failCause(cause),
                    onSuccess: (output) =>
                      Effect.zipRight(
                        replies.offer({
                          _tag: "Result",
                          result: output.result,
                          provider: output.provider,
                          node: config.node
                        }),
                        replies.end
                      )
                  })
                )
              )
              return Mailbox.toStream(replies)
            }))
      }
    }),
    // Many attempts share a routing bucket: they run side by side.
    { concurrency: "unbounded" }
  )

const cancelOf = (attempt: Attempt) => ({ runId: attempt.runId, taskId: attempt.taskId, attempt: attempt.attempt })

/** Pauses between dispatches of an attempt whose worker was unreachable. */
const redispatch = Schedule.exponential("100 millis", 2).pipe(Schedule.either(Schedule.spaced("2 seconds")))

/** A dispatch that did not reach a worker or lost it; never journaled. */
class Dispatch extends Schema.TaggedError<Dispatch>()("Dispatch", { message: Schema.String }) {}

/** Keeps a task's failure; anything else is the cluster's (a node died or is stopping, a shard moved). */
const classify = (cause: Cause.Cause<unknown>): Effect.Effect<never, TaskError.TaskFailure | Dispatch> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && isTaskFailure(failure.value)) return Effect.fail(failure.value)
  // An interruption seen here came from the worker's side: an interruption of this fiber is not caught.
  return Effect.fail(new Dispatch({ message: Cause.pretty(cause) }))
}

/**
 * Dispatches attempts to the cluster's task workers (executing them here when their worker lives here), routing
 * LLM calls by task or by model.
 */
export const makeExecutor = (routing: Routing = "task") =>
  Effect.gen(function*() {
    const workers = yield* TaskWorker.client
    const scope = yield* Effect.scope
    const sharding = yield* Sharding
    const local = yield* makeLocal
    const config = yield* EngineConfig

    const isHere = (key: string) => sharding.hasShardId(sharding.getShardId(EntityId.make(key), "default"))

    const remote = (attempt: Attempt, key: string): Effect.Effect<Output, TaskError.TaskFailure | Dispatch> => {
      const payload = {
        runId: attempt.runId,
        taskId: attempt.taskId,
        attempt: attempt.attempt,
        method: attempt.method,
        params: attempt.params,
        ...(attempt.timeoutMs === undefined ? {} : { timeoutMs: attempt.timeoutMs })
      }
      if (!streamsOutput(attempt.method)) {
        return workers(key).Execute(payload).pipe(
          // Interrupted because its run stops: stop it on its worker too. Interrupted because its coordinator is
          // moving: leave it running, the next coordinator joins it.
          Effect.onInterrupt(() =>
            attempt.stopping?.() === true
              ? Effect.asVoid(Effect.forkIn(Effect.ignore(workers(key).Cancel(cancelOf(attempt))), scope))
              : Effect.void
          ),
          Effect.catchAllCause(classify),
          Effect.tap((reply) =>
            Effect.forEach(reply.outputs, (o) => attempt.emit(o.stream, o.text), { discard: true })
          ),
          Effect.map((reply) => ({ result: reply.result, provider: reply.provider, node: reply.node }))
        )
      }
      return Effect.suspend(() => {
        let output: Output | undefined
        return workers(key).ExecuteStreaming(payload).pipe(
          Stream.runForEach((chunk) => {
            if (chunk._tag === "Output") return attempt.emit(chunk.stream, chunk.text)
            output = { result: chunk.result, provider: chunk.provider, node: chunk.node }
            return Effect.void
          }),
          Effect.catchAllCause(classify),
          Effect.flatMap(() =>
            output === undefined
              ? Effect.fail(new Dispatch({ message: "the worker's reply ended without a result" }))
              : Effect.succeed(output)
          )
        )
      })
    }

    const execute = (attempt: Attempt): Effect.Effect<Output, TaskError.TaskFailure> => {
      const key = workerKey(attempt, routing)
      return Effect.suspend(() =>
        isHere(key)
          ? Effect.map(local.execute(attempt), (output) => ({ ...output, node: config.node }))
          : remote(attempt, key)
      ).pipe(
        Effect.tapErrorTag(
          "Dispatch",
          (error) =>
            Effect.logWarning(`attempt ${attempt.attempt} of '${attempt.taskId}' is dispatched again: ${error.message}`)
        ),
        Effect.retry({ schedule: redispatch, while: (error) => error._tag === "Dispatch" }),
        Effect.catchTag("Dispatch", (error) => Effect.die(error))
      )
    }
    return Executor.of({ execute })
  })

/** The executor of a cluster node's coordinators. */
export const layerExecutor = (routing: Routing = "task"): Layer.Layer<
  Executor,
  never,
  Sharding | ProviderRegistry.ProviderRegistry | EngineConfig
> => Layer.scoped(Executor, makeExecutor(routing))
