/**
 * The `llm/v1` provider: every call goes through a `Hub` of LLM endpoints (Ollama or OpenAI-compatible), whose
 * health loop lists each endpoint's models; the model is the capability, so a call only reaches a healthy endpoint
 * that has it. Retryable failures move to another endpoint, fallback models are tried in order (the result says
 * which model and instance served it and which models were passed over), rate limits are token-aware, and
 * deterministic requests may be answered from the response cache. Tokens stream to the task's events.
 */
import { type Json, LlmProtocol, ProviderError } from "@gleitzeit/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Hub from "./Hub.js"
import * as Http from "./internal/llm/http.js"
import { violation } from "./internal/llm/jsonSchema.js"
import * as Prepare from "./internal/llm/prepare.js"
import { canonicalModel, type ChatResponse, type LlmClient } from "./LlmClient.js"
import { LlmConfig } from "./LlmConfig.js"
import * as OllamaClient from "./OllamaClient.js"
import * as OpenAiClient from "./OpenAiClient.js"
import * as PathPolicy from "./PathPolicy.js"
import type { ExecuteContext, Provider } from "./Provider.js"
import * as ProviderRegistry from "./ProviderRegistry.js"
import * as RateLimiter from "./RateLimiter.js"
import * as ResponseCache from "./ResponseCache.js"

/** The provider's id in the registry and in errors. */
export const id = Http.providerId

/** A value and the models passed over before it was served. */
interface Served<A> {
  readonly value: A
  readonly fallbacks: ReadonlyArray<LlmProtocol.Fallback>
}

/** Whether a failure with one model should let the next fallback model try: unknown model or retryable. */
const fallsBack = (error: ProviderError.ProviderError) => error.reason._tag === "NotFound" || error.retryable

/**
 * Builds the hub of the configured endpoints, plus the local Ollama servers found on `discoverPorts` (clients
 * scoped to the hub's scope).
 */
export const makeHub = (config: LlmConfig["Type"]): Effect.Effect<Hub.Hub<LlmClient>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const hub = yield* Hub.make<LlmClient>({
      name: id,
      capabilityName: "model",
      strategy: config.strategy,
      affinityFallback: config.strategy === "model_affinity" ? "least_loaded" : config.strategy,
      checkInterval: config.healthInterval,
      failureThreshold: config.failureThreshold,
      resetTimeout: config.resetTimeout,
      retryOnOtherInstance: config.retryOnOtherInstance,
      matchCapability: (have, want) => canonicalModel(have) === canonicalModel(want),
      check: (instance) =>
        Effect.map(instance.resource.models, (listed) => {
          const only = config.endpoints.find((e) => e.name === instance.id)?.models
          const models = only === undefined
            ? listed
            : listed.filter((m) => only.some((o) => canonicalModel(o) === canonicalModel(m)))
          return { healthy: true, capabilities: models, detail: `${models.length} models` }
        })
    }).pipe(Effect.orDie)
    for (const endpoint of config.endpoints) {
      const client = endpoint.type === "ollama"
        ? OllamaClient.make({ url: endpoint.url })
        : OpenAiClient.make({
          url: endpoint.url,
          ...(endpoint.apiKey === undefined ? {} : { apiKey: endpoint.apiKey })
        })
      yield* hub.addScoped({
        id: endpoint.name,
        endpoint: endpoint.url,
        tags: endpoint.tags,
        capabilities: endpoint.models ?? [],
        weight: endpoint.weight,
        priority: endpoint.priority,
        ...(endpoint.maxInFlight === undefined ? {} : { maxInFlight: endpoint.maxInFlight })
      }, client).pipe(Effect.orDie)
    }
    for (const port of config.discoverPorts) {
      const url = `http://127.0.0.1:${port}`
      if (config.endpoints.some((e) => e.url.replace(/\/+$/, "") === url)) continue
      const answers = yield* Effect.scoped(Effect.flatMap(OllamaClient.make({ url, connections: 1 }), (c) => c.models))
        .pipe(Effect.timeout("2 seconds"), Effect.isSuccess)
      if (!answers) continue
      yield* Effect.logInfo(`llm: discovered a local Ollama server at ${url}`)
      yield* hub.addScoped({ id: `local-${port}`, endpoint: url }, OllamaClient.make({ url })).pipe(Effect.orDie)
    }
    return hub
  })

/** One endpoint's metrics in a line: requests, errors, latency percentiles and generated tokens per second. */
export const describeMetrics = (m: Hub.InstanceMetrics): string => {
  const l = m.latencyMs
  const latency = l === undefined ? "" : `, p50/p95/p99 ${l.p50}/${l.p95}/${l.p99} ms`
  const rate = Hub.throughput(m, "tokens")
  return `${m.id} ${m.health}: ${m.requests} requests, ${m.errors} errors${latency}, ${rate.toFixed(1)} tokens/s`
}

/** Builds the provider over a hub of the configured endpoints. */
export const make: Effect.Effect<Provider, never, LlmConfig | PathPolicy.PathPolicy | Scope.Scope> = Effect.gen(
  function*() {
    const config = yield* LlmConfig
    const files = yield* PathPolicy.PathPolicy
    const hub = yield* makeHub(config)
    const limits = new Map<string, RateLimiter.Limit>()
    for (const limit of config.rateLimits) {
      const entry = {
        ...(limit.requestsPerMinute === undefined ? {} : { requestsPerMinute: limit.requestsPerMinute }),
        ...(limit.tokensPerMinute === undefined ? {} : { tokensPerMinute: limit.tokensPerMinute })
      }
      if (limit.model !== undefined) limits.set(`model:${canonicalModel(limit.model)}`, entry)
      if (limit.endpoint !== undefined) limits.set(`endpoint:${limit.endpoint}`, entry)
    }
    const limiter = yield* Effect.serviceOption(RateLimiter.Backend).pipe(
      Effect.flatMap(Option.match({
        onSome: (backend) => backend.make(limits),
        onNone: () => RateLimiter.make(limits)
      }))
    )
    const cache = yield* Effect.serviceOption(ResponseCache.ResponseCache).pipe(
      Effect.flatMap(Option.match({
        onSome: Effect.succeed,
        onNone: () => ResponseCache.makeMemory(config.cache.maxEntries)
      }))
    )

    /** Fails with `NotFound` when healthy endpoints answered and none of them (nor any other) lists the model. */
    const knownModel = (method: string, model: string) =>
      Effect.flatMap(hub.instances, (all) => {
        const anyHealthy = all.some((s) => s.health.status === "healthy")
        const listed = all.some((s) => s.instance.capabilities.some((c) => canonicalModel(c) === canonicalModel(model)))
        return anyHealthy && !listed
          ? Effect.fail(
            Http.fail(
              method,
              { _tag: "NotFound" },
              `model '${model}' is not served by any LLM endpoint (${
                [...new Set(all.flatMap((s) => s.instance.capabilities.map(canonicalModel)))].join(", ")
              })`
            )
          )
          : Effect.void
      })

    /**
     * Runs `call` on an endpoint having `model`, inside the rate limits of the model and the endpoint: reserves the
     * estimated tokens, settles with the actual usage, and blocks the endpoint for a 429's `retry-after`.
     */
    const onEndpoint = <A extends { readonly promptTokens: number; readonly completionTokens?: number }>(
      method: string,
      model: string,
      tags: ReadonlyArray<string> | undefined,
      estimated: number,
      call: (client: LlmClient) => Effect.Effect<A, ProviderError.ProviderError>
    ) =>
      Effect.zipRight(
        knownModel(method, model),
        hub.use({ capability: model, method, ...(tags === undefined ? {} : { tags }) }, (instance) =>
          Effect.gen(function*() {
            const keys = [`model:${canonicalModel(model)}`, `endpoint:${instance.id}`]
            const permit = yield* limiter.reserve(keys, estimated)
            const result = yield* call(instance.resource).pipe(
              Effect.timeoutFail({
                duration: config.requestTimeout,
                onTimeout: () =>
                  Http.fail(
                    method,
                    { _tag: "Timeout" },
                    `${instance.id} did not answer within ${Duration.format(config.requestTimeout)}`
                  )
              }),
              Effect.tapError((error) =>
                Effect.zipRight(
                  permit.settle(0),
                  error.reason._tag === "RateLimited" && error.reason.retryAfterMs !== undefined
                    ? limiter.block(`endpoint:${instance.id}`, error.reason.retryAfterMs)
                    : Effect.void
                )
              )
            )
            const used = result.promptTokens + (result.completionTokens ?? 0)
            yield* permit.settle(used)
            yield* hub.count(instance.id, "tokens", result.completionTokens ?? 0)
            return { result, instance: instance.id }
          }))
      )

    /** Tries the model, then each fallback model, recording why each one before the server was passed over. */
    const withFallbacks = <A>(
      models: ReadonlyArray<string>,
      attempt: (model: string) => Effect.Effect<A, ProviderError.ProviderError>
    ): Effect.Effect<Served<A>, ProviderError.ProviderError> => {
      const loop = (
        index: number,
        passed: ReadonlyArray<LlmProtocol.Fallback>
      ): Effect.Effect<Served<A>, ProviderError.ProviderError> =>
        attempt(models[index]!).pipe(
          Effect.map((value) => ({ value, fallbacks: passed })),
          Effect.catchAll((error) =>
            index + 1 < models.length && fallsBack(error)
              ? Effect.zipRight(
                Effect.logWarning(
                  `llm: model ${models[index]} failed, falling back to ${models[index + 1]}: ${error.message}`
                ),
                loop(index + 1, [...passed, { model: models[index]!, error: error.message }])
              )
              : Effect.fail(error)
          )
        )
      return loop(0, [])
    }

    /** Serves from the cache when the params opt in and the request is deterministic; stores fresh answers. */
    const cached = <A extends Json.JsonObject>(
      enabled: boolean,
      model: string,
      request: unknown,
      compute: Effect.Effect<A, ProviderError.ProviderError>
    ): Effect.Effect<A & { readonly cached: boolean }, ProviderError.ProviderError> => {
      if (!enabled || !config.cache.enabled) return Effect.map(compute, (a) => ({ ...a, cached: false }))
      const key = ResponseCache.key(canonicalModel(model), request)
      return Effect.flatMap(
        cache.get(key),
        Option.match({
          onSome: (hit): Effect.Effect<A & { readonly cached: boolean }, ProviderError.ProviderError> =>
            Effect.succeed({ ...(hit as A), cached: true }),
          onNone: () => Effect.tap(Effect.map(compute, (a) => ({ ...a, cached: false })), (a) => cache.set(key, a))
        })
      )
    }

    const structured = (method: string, format: LlmProtocol.ChatParams["format"], text: string) => {
      if (format === undefined) return Effect.succeed(undefined)
      return Effect.try({
        try: () => JSON.parse(text) as Json.Json,
        catch: () => Http.fail(method, { _tag: "BadResponse" }, `the answer is not valid JSON: ${text.slice(0, 200)}`)
      }).pipe(
        Effect.filterOrFail(
          (parsed) => format === "json" || violation(format, parsed) === undefined,
          (parsed) =>
            Http.fail(
              method,
              { _tag: "BadResponse" },
              `the answer does not match the JSON schema: ${violation(format, parsed)}`
            )
        )
      )
    }

    const generate = (
      method: string,
      p: LlmProtocol.ChatParams | LlmProtocol.CompleteParams | LlmProtocol.VisionParams,
      ctx: ExecuteContext,
      chat: boolean
    ) =>
      Effect.gen(function*() {
        const stream = p.stream ?? true
        const onToken = (text: string) => ctx.emit("token", text)
        const prepared = chat
          ? yield* Prepare.chat(files, method, p as LlmProtocol.ChatParams, stream)
          : yield* Prepare.complete(files, method, p as LlmProtocol.CompleteParams, stream)
        const texts = "messages" in prepared ? prepared.messages.map((m) => m.content) : [prepared.prompt]
        const estimated = Prepare.estimateTokens(texts) + (p.max_tokens ?? config.defaultMaxTokens)
        const models = [p.model, ...(p.fallback_models ?? [])]
        const cacheable = p.cache === true && ResponseCache.isDeterministic(p)
        const { fallbacks, value } = yield* withFallbacks(models, (model) =>
          cached(
            cacheable,
            model,
            { chat, request: { ...prepared, model, stream: false } },
            Effect.gen(function*() {
              const run = (client: LlmClient): Effect.Effect<ChatResponse, ProviderError.ProviderError> =>
                "messages" in prepared
                  ? client.chat({ ...prepared, model }, onToken)
                  : client.complete({ ...prepared, model }, onToken)
              const served = yield* onEndpoint(method, model, p.tags, estimated, run)
              const r = served.result
              const parsed = yield* structured(method, p.format, r.text)
              const toolCalls = r.toolCalls.map((c): Json.JsonObject => ({
                ...(c.id === undefined ? {} : { id: c.id }),
                name: c.name,
                arguments: c.arguments
              }))
              const result: Json.JsonObject = {
                response: r.text,
                model,
                instance: served.instance,
                usage: {
                  prompt_tokens: r.promptTokens,
                  completion_tokens: r.completionTokens,
                  total_tokens: r.promptTokens + r.completionTokens
                },
                ...(chat
                  ? {
                    message: {
                      role: "assistant",
                      content: r.text,
                      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
                    }
                  }
                  : {}),
                ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
                ...(parsed === undefined ? {} : { parsed }),
                ...(r.doneReason === undefined ? {} : { done_reason: r.doneReason })
              }
              return result
            })
          ))
        return fallbacks.length === 0 ? value : { ...value, fallbacks }
      })

    const embed = (method: string, p: LlmProtocol.EmbedParams) =>
      Effect.gen(function*() {
        const input = yield* Prepare.embedInput(files, method, p)
        const models = [p.model, ...(p.fallback_models ?? [])]
        const { fallbacks, value } = yield* withFallbacks(models, (model) =>
          cached(
            p.cache === true,
            model,
            { embed: input },
            Effect.gen(function*() {
              const estimated = Prepare.estimateTokens(input)
              const served = yield* onEndpoint(method, model, p.tags, estimated, (c) => c.embed(model, input))
              const vectors = served.result.embeddings
              const result: Json.JsonObject = {
                response: `${vectors.length} embedding${vectors.length === 1 ? "" : "s"} of ${
                  vectors[0]?.length ?? 0
                } dimensions`,
                model,
                instance: served.instance,
                usage: {
                  prompt_tokens: served.result.promptTokens,
                  completion_tokens: 0,
                  total_tokens: served.result.promptTokens
                },
                embedding: vectors[0] ?? [],
                embeddings: vectors
              }
              return result
            })
          ))
        return fallbacks.length === 0 ? value : { ...value, fallbacks }
      })

    const listModels = Effect.map(hub.instances, (all) => {
      const byModel = new Map<string, Array<string>>()
      for (const status of all) {
        if (status.health.status !== "healthy") continue
        for (const model of status.instance.capabilities) {
          const name = canonicalModel(model)
          byModel.set(name, [...(byModel.get(name) ?? []), status.instance.id])
        }
      }
      const models = [...byModel.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([name, instances]) => ({ name, instances }))
      return { response: models.map((m) => m.name).join(", "), models }
    })

    const provider: Provider = {
      id,
      spec: LlmProtocol.spec,
      execute: (method, params, ctx) => {
        switch (method.name) {
          case "llm/chat":
          case "llm/vision":
            return generate(method.name, params as LlmProtocol.ChatParams, ctx, true)
          case "llm/complete":
            return generate(method.name, params as LlmProtocol.CompleteParams, ctx, false)
          case "llm/embed":
            return embed(method.name, params as LlmProtocol.EmbedParams)
          case "llm/list_models":
            return listModels
          default:
            return Effect.fail(Http.fail(method.name, { _tag: "NotFound" }, `unknown method ${method.name}`))
        }
      },
      health: Effect.zipWith(hub.health, hub.metrics, (health, metrics) => {
        const detail = [health.detail, ...metrics.map(describeMetrics)].filter((d) => d !== undefined).join("; ")
        return detail === "" ? health : { ...health, detail }
      })
    }
    return provider
  }
)

/**
 * Registers the LLM provider (needs `LlmConfig`, and the `PathPolicy` that files named in params are read through;
 * uses a provided `ResponseCache`, else an in-memory one).
 */
export const layer: Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | LlmConfig | PathPolicy.PathPolicy> =
  ProviderRegistry.register(make)

/** Registers the LLM provider with the given settings. */
export const layerConfig = (
  settings: Partial<LlmConfig["Type"]>
): Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | PathPolicy.PathPolicy> =>
  layer.pipe(Layer.provide(LlmConfig.layer(settings)))
