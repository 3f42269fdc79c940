/**
 * Task attempts in a cluster. A coordinator's `Executor` dispatches each attempt to the `TaskWorker` entity of its
 * routing key, wherever the cluster placed it; the worker executes it with the node's providers (the embedded
 * executor) and streams its output and result back.
 *
 * Dispatch is volatile: when the worker's node dies, is stopping, or the shard moves, the call fails without a task
 * failure, and the same attempt (same number, same idempotency key) is dispatched again, so the journal records it
 * once. A draining node refuses new attempts the same way. Interrupting the attempt (cancel, timeout, fail-fast) interrupts the remote handler, whose finalizers abort
 * the provider call on that node.
 */
import { TaskError } from "@gleitzeit/core"
import type { Sharding } from "@effect/cluster/Sharding"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { type AttemptChunk, Refused, TaskWorker, workerKey } from "./ClusterEntities.js"
import { LocalRuns } from "./ClusterRuns.js"
import { EngineConfig } from "./EngineConfig.js"
import { type Attempt, Executor, makeLocal, type Output } from "./Executor.js"
import type { ProviderRegistry } from "@gleitzeit/providers"

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
      /** Executes one attempt, streaming its output and then its result (or its failure) into `replies`. */
      const attempt = (
        payload: Parameters<typeof local.execute>[0],
        replies: Mailbox.Mailbox<AttemptChunk, TaskError.TaskFailure>
      ) =>
        local.execute(payload).pipe(
          permits.withPermits(1),
          Effect.matchCauseEffect({
            // A defect of the attempt (a provider's bug) is the task's failure, not the worker's: it must not make
            // the cluster restart the entity and deliver the attempt again.
            onFailure: (cause) => {
              const failure = Cause.failureOption(cause)
              if (Option.isSome(failure) || Cause.isInterruptedOnly(cause)) return replies.failCause(cause)
              return replies.fail(new TaskError.TaskDefect({ taskId: payload.taskId, message: Cause.pretty(cause) }))
            },
            onSuccess: (output) =>
              Effect.zipRight(
                replies.offer({ _tag: "Result", result: output.result, provider: output.provider, node: config.node }),
                replies.end
              )
          })
        )
      return {
        Execute: ({ payload }) =>
          // A stopping node takes no new attempt: the coordinator dispatches it again once the shard has moved.
          node.draining
            ? Stream.fail(new Refused({ node: config.node, message: `node ${config.node} is draining` }))
            : Stream.unwrapScoped(Effect.gen(function*() {
              // Counted while executing, and while its reply streams back, so that a drain does not cut either off
              // (a reply to a client that died meanwhile may never finish: the drain bounds that wait).
              node.attempts++
              node.replies++
              yield* Effect.addFinalizer(() => Effect.sync(() => node.replies--))
              const replies = yield* Mailbox.make<AttemptChunk, TaskError.TaskFailure>()
              yield* Effect.forkScoped(attempt({
                ...payload,
                timeoutMs: payload.timeoutMs,
                emit: (stream, text) => Effect.asVoid(replies.offer({ _tag: "Output", stream, text }))
              }, replies).pipe(Effect.ensuring(Effect.sync(() => node.attempts--))))
              return Mailbox.toStream(replies)
            }))
      }
    }),
    // Many attempts share a routing bucket: they run side by side.
    { concurrency: "unbounded" }
  )

/** Pauses between dispatches of an attempt whose worker was unreachable. */
const redispatch = Schedule.exponential("100 millis", 2).pipe(Schedule.either(Schedule.spaced("2 seconds")))

/** Dispatches attempts to the cluster's task workers. */
export const makeExecutor = Effect.gen(function*() {
  const workers = yield* TaskWorker.client
  const dispatch = (attempt: Attempt): Effect.Effect<Output, TaskError.TaskFailure | Dispatch> =>
    Effect.suspend(() => {
      let output: Output | undefined
      return workers(workerKey(attempt.runId, attempt.taskId)).Execute({
        runId: attempt.runId,
        taskId: attempt.taskId,
        attempt: attempt.attempt,
        method: attempt.method,
        params: attempt.params,
        ...(attempt.timeoutMs === undefined ? {} : { timeoutMs: attempt.timeoutMs })
      }).pipe(
        Stream.runForEach((chunk) => {
          if (chunk._tag === "Output") return attempt.emit(chunk.stream, chunk.text)
          output = { result: chunk.result, provider: chunk.provider, node: chunk.node }
          return Effect.void
        }),
        Effect.catchAllCause((cause): Effect.Effect<void, TaskError.TaskFailure | Dispatch> => {
          const failure = Cause.failureOption(cause)
          if (Option.isSome(failure) && isTaskFailure(failure.value)) return Effect.fail(failure.value)
          // Anything else is the cluster's (the worker's node died or is stopping, the shard moved, a full
          // mailbox): the attempt did not fail. An interruption seen here came from the worker's side, since an
          // interruption of this fiber is not caught.
          return Effect.fail(new Dispatch({ message: Cause.pretty(cause) }))
        }),
        Effect.flatMap(() =>
          output === undefined
            ? Effect.fail(new Dispatch({ message: "the worker's reply ended without a result" }))
            : Effect.succeed(output)
        )
      )
    })
  const execute = (attempt: Attempt): Effect.Effect<Output, TaskError.TaskFailure> =>
    dispatch(attempt).pipe(
      Effect.tapErrorTag("Dispatch", (error) =>
        Effect.logWarning(`attempt ${attempt.attempt} of '${attempt.taskId}' is dispatched again: ${error.message}`)),
      Effect.retry({ schedule: redispatch, while: (error) => error._tag === "Dispatch" }),
      Effect.catchTag("Dispatch", (error) => Effect.die(error))
    )
  return Executor.of({ execute })
})

/** A dispatch that did not reach a worker or lost it; never journaled. */
class Dispatch extends Schema.TaggedError<Dispatch>()("Dispatch", { message: Schema.String }) {}

/** The executor of a cluster node's coordinators. */
export const layerExecutor: Layer.Layer<Executor, never, Sharding> = Layer.effect(Executor, makeExecutor)
