/**
 * The exit statuses of `gleitzeit`, documented in the README; scripts may rely on them.
 */
import * as Data from "effect/Data"

/** Success: the run completed, the workflow is valid, the query found what it asked for. */
export const Ok = 0
/** The run ended without completing: failed, cancelled or timed out. */
export const RunNotCompleted = 1
/** The input is invalid: a workflow that does not parse or validate, or bad usage. */
export const InvalidInput = 2
/** The run does not exist, or is in a state that does not allow the operation. */
export const NotFound = 3
/** A service the command needs is unreachable (e.g. the cluster's Redis). */
export const Unavailable = 69
/** An unexpected internal error. */
export const Internal = 70
/** Interrupted (Ctrl-C): the run was cancelled cleanly. */
export const Interrupted = 130

/** Ends the command with a given exit status (after its output was printed). */
export class Exit extends Data.TaggedError("Exit")<{ readonly code: number }> {}

let stoppedOnRequest = false

/** Records that the command stopped on request (a node drained after SIGTERM/Ctrl-C): its exit status is 0. */
export const markStoppedOnRequest = (): void => {
  stoppedOnRequest = true
}

/** Whether the command stopped on request, cleanly. */
export const isStoppedOnRequest = (): boolean => stoppedOnRequest
