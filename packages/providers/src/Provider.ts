/**
 * The one provider interface. A provider serves the methods of its protocol spec; the engine validates params
 * against the method's schema before `execute` sees them.
 */
import type { Json, Protocol, ProviderError } from "@gleitzeit/core"
import type * as Effect from "effect/Effect"

/** What a provider learns about the call it serves. */
export interface ExecuteContext {
  /** The run the task belongs to. */
  readonly runId: string
  /** The task. */
  readonly taskId: string
  /** Attempt number, from 1. */
  readonly attempt: number
  /** Stable for every attempt of the same task of the same run: pass it on to idempotent APIs. */
  readonly idempotencyKey: string
  /** Streams output (tokens, stdout, logs) to the run's event stream while the call runs. */
  readonly emit: (stream: "token" | "stdout" | "stderr" | "log", text: string) => Effect.Effect<void>
}

/** How a provider (or one of its instances) is doing. */
export interface Health {
  readonly status: "healthy" | "degraded" | "unhealthy"
  readonly detail?: string
}

/** A provider. */
export interface Provider {
  /** Unique id, e.g. `http`, `ollama`, `mcp:filesystem`. */
  readonly id: string
  /** The protocol it serves; its methods are exactly the spec's methods. */
  readonly spec: Protocol.ProtocolSpec
  /** Executes a method with params already decoded by the method's schema. Interruption must abort the call. */
  readonly execute: (
    method: Protocol.MethodSpec,
    params: unknown,
    ctx: ExecuteContext
  ) => Effect.Effect<Json.Json, ProviderError.ProviderError>
  /** The provider's current health. */
  readonly health: Effect.Effect<Health>
}

/** A healthy verdict. */
export const healthy: Health = { status: "healthy" }
