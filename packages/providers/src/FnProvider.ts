/**
 * `fn/<name>`: TypeScript functions registered through the library API, served as task methods.
 */
import { type Json, Protocol, ProviderError } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { type ExecuteContext, healthy, type Provider } from "./Provider.js"
import * as ProviderRegistry from "./ProviderRegistry.js"

/** A registered function. */
export interface Definition {
  /** The method name without the `fn/` prefix. */
  readonly name: string
  /** The method's spec (params schema, description). */
  readonly spec: Protocol.MethodSpec
  /** The implementation; params are already decoded by the spec's schema. */
  readonly handler: (params: unknown, ctx: ExecuteContext) => Effect.Effect<Json.Json, ProviderError.ProviderError>
}

/** Options of a function definition. */
export interface Options<A, I> {
  /** Schema of the params (default: a JSON object of whatever fields). */
  readonly params?: Schema.Schema<A, I>
  /** One line for listings. */
  readonly description?: string
  /** True when calling it twice has no additional effect. */
  readonly idempotent?: boolean
}

const anyParams = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** Defines a function from an Effect-returning handler. */
export const make = <A = { readonly [key: string]: unknown }, I = A>(
  name: string,
  handler: (params: A, ctx: ExecuteContext) => Effect.Effect<Json.Json, ProviderError.ProviderError>,
  options: Options<A, I> = {}
): Definition => ({
  name,
  spec: Protocol.method({
    name: `fn/${name}`,
    protocol: "fn/v1",
    description: options.description ?? `TypeScript function ${name}`,
    params: options.params ?? anyParams,
    ...(options.idempotent === undefined ? {} : { idempotent: options.idempotent })
  }),
  handler: handler as Definition["handler"]
})

const failed = (name: string, cause: unknown) =>
  ProviderError.make({
    provider: "fn",
    method: `fn/${name}`,
    reason: { _tag: "ExecutionFailed" },
    message: `fn/${name} threw: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** Defines a function from a plain synchronous function; a thrown exception is a failed task. */
export const sync = <A = { readonly [key: string]: unknown }, I = A>(
  name: string,
  f: (params: A) => Json.Json,
  options: Options<A, I> = {}
): Definition =>
  make<A, I>(name, (params) => Effect.try({ try: () => f(params), catch: (cause) => failed(name, cause) }), options)

/** Defines a function from a Promise-returning function; the signal aborts when the task is interrupted. */
export const promise = <A = { readonly [key: string]: unknown }, I = A>(
  name: string,
  f: (params: A, signal: AbortSignal) => Promise<Json.Json>,
  options: Options<A, I> = {}
): Definition =>
  make<A, I>(
    name,
    (params) => Effect.tryPromise({ try: (signal) => f(params, signal), catch: (cause) => failed(name, cause) }),
    options
  )

/** The provider serving a set of functions. */
export const provider = (definitions: ReadonlyArray<Definition>): Provider => {
  const byMethod = new Map(definitions.map((d) => [d.spec.name, d]))
  return {
    id: "fn",
    spec: Protocol.make("fn/v1", definitions.map((d) => d.spec)),
    execute: (method, params, ctx) => {
      const definition = byMethod.get(method.name)
      return definition === undefined
        ? Effect.fail(
          ProviderError.make({
            provider: "fn",
            method: method.name,
            reason: { _tag: "NotFound" },
            message: `no function registered as ${method.name}`
          })
        )
        : definition.handler(params, ctx)
    },
    health: Effect.succeed(healthy)
  }
}

/** Registers functions as `fn/<name>` methods. */
export const layer = (
  definitions: ReadonlyArray<Definition>
): Layer.Layer<never, never, ProviderRegistry.ProviderRegistry> =>
  ProviderRegistry.register(Effect.succeed(provider(definitions)))
