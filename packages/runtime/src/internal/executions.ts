/**
 * The attempts a task worker executes, by attempt key (run/task#attempt). A request for an attempt that is already
 * executing joins it, and one for an attempt that finished a moment ago gets its outcome: a coordinator that sends
 * an attempt again (its reply was lost, or the coordinator moved to another node after its node died) does not make
 * the provider call twice. An attempt is interrupted once nobody waits for it any more.
 */
import type { TaskError } from "@gleitzeit/core"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import type { Output } from "../Executor.js"

/** Output of an attempt. */
export interface Emitted {
  readonly stream: "token" | "stdout" | "stderr" | "log"
  readonly text: string
}

/** One attempt, executing or finished. */
export interface Execution {
  /** Everything it emitted so far. */
  readonly outputs: Array<Emitted>
  /** Called with each output as it is emitted. */
  readonly listeners: Set<(output: Emitted) => void>
  /** Its outcome. */
  readonly done: Deferred.Deferred<Output, TaskError.TaskFailure>
  /** Requests waiting for it. */
  waiters: number
  fiber: Fiber.RuntimeFiber<Output, TaskError.TaskFailure> | undefined
}

/** Executes an attempt, emitting its output through `emit`. */
export type Execute = (
  emit: (stream: Emitted["stream"], text: string) => Effect.Effect<void>
) => Effect.Effect<Output, TaskError.TaskFailure>

/** How many finished attempts a worker remembers. */
const remembered = 512

/** The registry of one worker; attempts run in `scope` (the worker's). */
export const make = (scope: Scope.Scope) => {
  const running = new Map<string, Execution>()
  const finished = new Map<string, Execution>()

  /** The execution of `key`: the one in progress or just finished, or a new one running `execute`. */
  const start = (key: string, execute: Execute): Effect.Effect<Execution> =>
    Effect.suspend(() => {
      const known = running.get(key) ?? finished.get(key)
      if (known !== undefined) return Effect.succeed(known)
      const execution: Execution = {
        outputs: [],
        listeners: new Set(),
        done: Deferred.unsafeMake(FiberId.none),
        waiters: 0,
        fiber: undefined
      }
      running.set(key, execution)
      const emit = (stream: Emitted["stream"], text: string) =>
        Effect.sync(() => {
          const output = { stream, text }
          execution.outputs.push(output)
          for (const listener of execution.listeners) listener(output)
        })
      return Effect.map(Effect.forkIn(execute(emit), scope), (fiber) => {
        execution.fiber = fiber
        // Settled by the fiber's end, whatever it is: also when it was interrupted before it began (its scope
        // closing), when none of its own code would run.
        fiber.addObserver((exit) => {
          running.delete(key)
          // An interrupted attempt is not an outcome: sent again, it runs again.
          if (!Exit.isInterrupted(exit)) {
            finished.set(key, execution)
            if (finished.size > remembered) finished.delete(finished.keys().next().value!)
          }
          Deferred.unsafeDone(execution.done, exit)
        })
        return execution
      })
    })

  /** Waits for an execution's outcome; when the last waiter is interrupted, so is the attempt. */
  const await_ = (execution: Execution): Effect.Effect<Output, TaskError.TaskFailure> =>
    Effect.acquireUseRelease(
      Effect.sync(() => execution.waiters++),
      () => Deferred.await(execution.done),
      (_, exit) =>
        Effect.suspend(() => {
          execution.waiters--
          return Exit.isInterrupted(exit) && execution.waiters === 0 && execution.fiber !== undefined
            ? Fiber.interrupt(execution.fiber)
            : Effect.void
        })
    )

  /** Interrupts the attempt `key` if it is executing. */
  const cancel = (key: string): Effect.Effect<void> =>
    Effect.suspend(() => {
      const fiber = running.get(key)?.fiber
      return fiber === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(fiber))
    })

  return { start, await: await_, cancel }
}
