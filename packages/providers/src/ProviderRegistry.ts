/**
 * The registry of providers: maps every method (and alias) of every registered provider's spec to it.
 */
import { DemoToolsProtocol, HttpProtocol, LlmProtocol, Protocol, PythonProtocol } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { Health, Provider } from "./Provider.js"

/** A method and the provider that serves it. */
export interface Resolved {
  readonly provider: Provider
  readonly method: Protocol.MethodSpec
}

/** A provider was registered twice, or two providers claim the same method. */
export class DuplicateProvider extends Error {
  readonly _tag = "DuplicateProvider"
}

/** The provider registry service. */
export class ProviderRegistry extends Context.Tag("@gleitzeit/providers/ProviderRegistry")<ProviderRegistry, {
  /** Adds a provider; its methods become callable. Fails (as a defect) on a clash. */
  readonly register: (provider: Provider) => Effect.Effect<void>
  /** Removes a provider (e.g. an MCP server that was removed from the configuration). */
  readonly unregister: (id: string) => Effect.Effect<void>
  /** The provider serving a method or alias (synchronous: on the hot path). */
  readonly lookup: (method: string) => Resolved | undefined
  /** The current catalog of methods, for validation. */
  readonly catalog: () => Protocol.Catalog
  /** All providers. */
  readonly providers: () => ReadonlyArray<Provider>
  /** The health of every provider. */
  readonly health: Effect.Effect<ReadonlyArray<{ readonly id: string; readonly health: Health }>>
}>() {}

/** Builds an empty registry. */
export const make = Effect.sync(() => {
  const providers = new Map<string, Provider>()
  const methods = new Map<string, Resolved>()
  let catalog: Protocol.Catalog | undefined

  const rebuild = () => {
    methods.clear()
    for (const provider of providers.values()) {
      for (const method of provider.spec.methods) {
        for (const name of [method.name, ...(method.aliases ?? [])]) {
          const existing = methods.get(name)
          if (existing !== undefined && existing.provider.id !== provider.id) {
            throw new DuplicateProvider(
              `method '${name}' is served by both '${existing.provider.id}' and '${provider.id}'`
            )
          }
          methods.set(name, { provider, method })
        }
      }
    }
    catalog = undefined
  }

  return ProviderRegistry.of({
    register: (provider) =>
      Effect.sync(() => {
        if (providers.has(provider.id)) throw new DuplicateProvider(`provider '${provider.id}' is registered twice`)
        providers.set(provider.id, provider)
        try {
          rebuild()
        } catch (error) {
          providers.delete(provider.id)
          rebuild()
          throw error
        }
      }),
    unregister: (id) =>
      Effect.sync(() => {
        providers.delete(id)
        rebuild()
      }),
    lookup: (method) => methods.get(method),
    catalog: () => {
      catalog ??= Protocol.catalog([...providers.values()].map((p) => p.spec))
      return catalog
    },
    providers: () => [...providers.values()],
    health: Effect.suspend(() =>
      Effect.forEach([...providers.values()], (p) => Effect.map(p.health, (health) => ({ id: p.id, health })))
    )
  })
})

/**
 * The methods a workflow may use: every method of the protocols Gleitzeit defines, whether or not a provider for it
 * is configured (a task of an unconfigured one fails at run time saying so), plus the discovered ones (MCP tools,
 * functions).
 */
export const catalogOf = (registry: ProviderRegistry["Type"]): Protocol.Catalog =>
  Protocol.catalog([
    HttpProtocol.spec,
    LlmProtocol.spec,
    PythonProtocol.spec,
    DemoToolsProtocol.spec,
    ...registry.providers().map((provider) => provider.spec)
  ])

/** A layer with an empty registry; provider layers register into it. */
export const layer: Layer.Layer<ProviderRegistry> = Layer.effect(ProviderRegistry, make)

/** A layer that registers a provider built by an effect (scoped: it may hold resources). */
export const register = <E, R>(
  provider: Effect.Effect<Provider, E, R>
): Layer.Layer<never, E, ProviderRegistry | Exclude<R, Scope.Scope>> =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      const registry = yield* ProviderRegistry
      const p = yield* provider
      yield* registry.register(p)
      yield* Effect.addFinalizer(() => registry.unregister(p.id))
    })
  )
