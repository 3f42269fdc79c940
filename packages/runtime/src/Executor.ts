/**
 * Executes one task attempt whose params are already resolved: resolves the `${secrets.NAME}` references the
 * engine left (from this node's `Secrets`), finds the method's provider, decodes the params with the method's
 * schema, calls the provider within the task's timeout and checks the result's size. The secret values an attempt
 * used are replaced by `***` in its result, its error and its streamed output. The run
 * coordinator is the same everywhere; where attempts execute is this service's business (in this process when
 * embedded; on a task worker anywhere in a cluster).
 */
import { type Json, Redact, Substitution, TaskError } from "@gleitzeit/core"
import { type Provider, ProviderRegistry } from "@gleitzeit/providers"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { EngineConfig } from "./EngineConfig.js"
import { Secrets } from "./Secrets.js"

/** One attempt to execute. */
export interface Attempt {
  readonly runId: string
  readonly taskId: string
  readonly attempt: number
  readonly method: string
  /** Params with every task reference substituted, secret references left (`Substitution.params`). */
  readonly params: Json.Json
  readonly timeoutMs: number | undefined
  /** Streams output of the attempt to the run's events. */
  readonly emit: Provider.ExecuteContext["emit"]
  /**
   * Whether its run is stopping for good (cancelled, failed fast, timed out) rather than suspending (its coordinator
   * moving to another node), when the attempt is interrupted.
   */
  readonly stopping?: () => boolean
}

/** What a successful attempt produced. */
export interface Output {
  /** The result, JSON-normalized (as it reads back from the journal). */
  readonly result: Json.Json
  /** The provider that served it. */
  readonly provider: string
  /** The node that executed it, when another than the coordinator's. */
  readonly node?: string
}

/** The executor service. */
export class Executor extends Context.Tag("@gleitzeit/runtime/Executor")<Executor, {
  /** Executes an attempt; interruption aborts it (the provider's finalizers run). */
  readonly execute: (attempt: Attempt) => Effect.Effect<Output, TaskError.TaskFailure>
}>() {}

const decoders = new WeakMap<object, (input: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

/** The params decoder of a method, built once per schema. */
const decoderOf = (schema: Schema.Schema.AnyNoContext) => {
  let decoder = decoders.get(schema)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(schema, { errors: "all" })
    decoders.set(schema, decoder)
  }
  return decoder
}

/** A result as it will read back from the journal: JSON-normalized, and its size in bytes. */
const normalizeResult = (raw: unknown): { readonly value: Json.Json; readonly bytes: number } => {
  if (raw === undefined || raw === null) return { value: null, bytes: 4 }
  if (typeof raw === "number") return Number.isFinite(raw) ? { value: raw, bytes: 24 } : { value: null, bytes: 4 }
  if (typeof raw === "boolean") return { value: raw, bytes: 5 }
  if (typeof raw === "string") return { value: raw, bytes: raw.length * 3 + 2 }
  const text = JSON.stringify(raw) ?? "null"
  return { value: JSON.parse(text) as Json.Json, bytes: Buffer.byteLength(text) }
}

/** Executes attempts in this process through the provider registry. */
export const makeLocal = Effect.gen(function*() {
  const registry = yield* ProviderRegistry.ProviderRegistry
  const config = yield* EngineConfig
  const secrets = yield* Effect.serviceOption(Secrets)
  const secretOf = (name: string): string | undefined =>
    Option.match(secrets, {
      onNone: () => undefined,
      onSome: (s) => {
        const value = s.get(name)
        return value === undefined ? undefined : Redacted.value(value)
      }
    })
  const execute = (attempt: Attempt): Effect.Effect<Output, TaskError.TaskFailure> =>
    Effect.suspend((): Effect.Effect<Output, TaskError.TaskFailure> => {
      const substituted = Substitution.secrets(attempt.params, secretOf)
      if (Either.isLeft(substituted)) {
        return Effect.fail(
          new TaskError.UnresolvedReference({
            taskId: attempt.taskId,
            reference: substituted.left.reference,
            message: substituted.left.message
          })
        )
      }
      const { used, value: params } = substituted.right
      if (used.length === 0) return executeResolved(attempt, params)
      const scrub = (error: TaskError.TaskFailure): TaskError.TaskFailure =>
        TaskError.decode(Redact.values(TaskError.encode(error) as Json.Json, used))
      return executeResolved(
        { ...attempt, emit: (stream, text) => attempt.emit(stream, Redact.valuesInText(text, used)) },
        params
      ).pipe(
        Effect.map((output) => ({ ...output, result: Redact.values(output.result, used) })),
        Effect.mapError(scrub)
      )
    })
  const executeResolved = (attempt: Attempt, params: Json.Json): Effect.Effect<Output, TaskError.TaskFailure> =>
    Effect.suspend((): Effect.Effect<Output, TaskError.TaskFailure> => {
      const target = registry.lookup(attempt.method)
      if (target === undefined) {
        return Effect.fail(
          new TaskError.MethodNotFound({
            method: attempt.method,
            message: `no provider serves '${attempt.method}' (configure one, or check the method name)`
          })
        )
      }
      const decoded = decoderOf(target.method.params)(params)
      if (Either.isLeft(decoded)) {
        return Effect.fail(
          new TaskError.InvalidParams({
            method: attempt.method,
            message: `invalid params for ${attempt.method}: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
          })
        )
      }
      const call = target.provider.execute(target.method, decoded.right, {
        runId: attempt.runId,
        taskId: attempt.taskId,
        attempt: attempt.attempt,
        idempotencyKey: `${attempt.runId}/${attempt.taskId}`,
        emit: attempt.emit
      })
      const bounded = attempt.timeoutMs === undefined ? call : call.pipe(
        Effect.timeoutFail({
          duration: Duration.millis(attempt.timeoutMs),
          onTimeout: () =>
            new TaskError.TaskTimeout({
              taskId: attempt.taskId,
              timeoutMs: attempt.timeoutMs!,
              message: `task '${attempt.taskId}' exceeded its timeout of ${attempt.timeoutMs} ms`
            })
        })
      )
      return Effect.flatMap(bounded, (raw) => {
        const normalized = normalizeResult(raw)
        if (normalized.bytes > config.maxPayloadBytes) {
          return Effect.fail(
            new TaskError.PayloadTooLarge({
              taskId: attempt.taskId,
              bytes: normalized.bytes,
              limit: config.maxPayloadBytes,
              message:
                `result of '${attempt.taskId}' is ${normalized.bytes} bytes; the limit is ${config.maxPayloadBytes}`
            })
          )
        }
        return Effect.succeed({ result: normalized.value, provider: target.provider.id })
      })
    })
  return Executor.of({ execute })
})

/** The in-process executor. */
export const layerLocal: Layer.Layer<Executor, never, ProviderRegistry.ProviderRegistry | EngineConfig> = Layer
  .effect(Executor, makeLocal)
