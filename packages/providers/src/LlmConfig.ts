/**
 * Settings of the LLM provider: the endpoints (Ollama or OpenAI-compatible), how the hub spreads calls over them,
 * rate limits and the response cache. `config` reads them from the `llm:` section of `gleitzeit.yaml` (through
 * whatever `ConfigProvider` the executable installs); `layer` takes them from code.
 */
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Hub from "./Hub.js"

/** One LLM endpoint. */
export interface Endpoint {
  /** Unique name: the `instance` of results, metrics and messages. */
  readonly name: string
  /** Wire format. */
  readonly type: "ollama" | "openai"
  /** Base URL (Ollama: `http://host:11434`; OpenAI-compatible: including `/v1`). */
  readonly url: string
  /** OpenAI API key (never logged). */
  readonly apiKey?: Redacted.Redacted<string>
  /** Serve only these models (default: whatever the endpoint lists). */
  readonly models?: ReadonlyArray<string>
  /** Share for `weighted_random`. */
  readonly weight: number
  /** Tier for `priority_based`. */
  readonly priority: number
  /** Labels a task may require (`tags:` param). */
  readonly tags: ReadonlyArray<string>
  /** Most calls in flight at once. */
  readonly maxInFlight?: number
}

/** A rate limit on a model or an endpoint (exactly one of them). */
export interface RateLimit {
  readonly model?: string
  readonly endpoint?: string
  readonly requestsPerMinute?: number
  readonly tokensPerMinute?: number
}

/** Settings of the LLM provider. */
export class LlmConfig extends Context.Tag("@gleitzeit/providers/LlmConfig")<LlmConfig, {
  /** The endpoints. */
  readonly endpoints: ReadonlyArray<Endpoint>
  /** How the hub picks an endpoint. */
  readonly strategy: Hub.Strategy
  /** Time between health checks (`/api/tags`, `/models`) of an endpoint. */
  readonly healthInterval: Duration.Duration
  /** Consecutive failures that open an endpoint's breaker. */
  readonly failureThreshold: number
  /** How long a breaker stays open before a trial call. */
  readonly resetTimeout: Duration.Duration
  /** Other endpoints a retryable failure is retried on. */
  readonly retryOnOtherInstance: number
  /** A call running longer fails with `Timeout`. */
  readonly requestTimeout: Duration.Duration
  /** Tokens reserved for the answer when a call gives no `max_tokens`. */
  readonly defaultMaxTokens: number
  /** Rate limits. */
  readonly rateLimits: ReadonlyArray<RateLimit>
  /** Whether `cache: true` params may use the response cache. */
  readonly cache: { readonly enabled: boolean; readonly maxEntries: number }
  /** Probe these ports on 127.0.0.1 at start and add each answering Ollama server as `local-<port>`. */
  readonly discoverPorts: ReadonlyArray<number>
}>() {
  /** The defaults: no endpoints, least-loaded, checks every 10 s, breaker 5 failures / 30 s, one retry elsewhere. */
  static readonly defaults: Context.Tag.Service<LlmConfig> = {
    endpoints: [],
    strategy: "least_loaded",
    healthInterval: Duration.seconds(10),
    failureThreshold: 5,
    resetTimeout: Duration.seconds(30),
    retryOnOtherInstance: 1,
    requestTimeout: Duration.minutes(5),
    defaultMaxTokens: 512,
    rateLimits: [],
    cache: { enabled: true, maxEntries: 1000 },
    discoverPorts: []
  }
  /** A layer with the defaults overridden by `partial`. */
  static readonly layer = (partial: Partial<Context.Tag.Service<LlmConfig>> = {}) =>
    Layer.succeed(LlmConfig, { ...LlmConfig.defaults, ...partial })
}

const endpoint: Config.Config<Endpoint> = Config.all({
  name: Config.string("name").pipe(Config.withDescription("unique endpoint name")),
  type: Config.literal("ollama", "openai")("type").pipe(
    Config.withDefault("ollama" as const),
    Config.withDescription("wire format: ollama or openai")
  ),
  url: Config.string("url").pipe(Config.withDescription("base URL (OpenAI-compatible: including /v1)")),
  apiKey: Config.option(Config.redacted("api_key")).pipe(Config.withDescription("API key (OpenAI-compatible)")),
  models: Config.option(Config.array(Config.string(), "models")).pipe(Config.withDescription("serve only these")),
  weight: Config.number("weight").pipe(Config.withDefault(1), Config.withDescription("share for weighted_random")),
  priority: Config.integer("priority").pipe(Config.withDefault(0), Config.withDescription("tier for priority_based")),
  tags: Config.array(Config.string(), "tags").pipe(Config.withDefault([]), Config.withDescription("labels")),
  maxInFlight: Config.option(Config.integer("max_in_flight")).pipe(Config.withDescription("most calls at once"))
}).pipe(Config.map(({ apiKey, maxInFlight, models, ...rest }) => ({
  ...rest,
  ...(apiKey._tag === "Some" ? { apiKey: apiKey.value } : {}),
  ...(models._tag === "Some" ? { models: models.value } : {}),
  ...(maxInFlight._tag === "Some" ? { maxInFlight: maxInFlight.value } : {})
})))

const rateLimit: Config.Config<RateLimit> = Config.all({
  model: Config.option(Config.string("model")),
  endpoint: Config.option(Config.string("endpoint")),
  requestsPerMinute: Config.option(Config.number("requests_per_minute")),
  tokensPerMinute: Config.option(Config.number("tokens_per_minute"))
}).pipe(Config.map((r) => {
  const out: { -readonly [K in keyof RateLimit]: RateLimit[K] } = {}
  if (r.model._tag === "Some") out.model = r.model.value
  if (r.endpoint._tag === "Some") out.endpoint = r.endpoint.value
  if (r.requestsPerMinute._tag === "Some") out.requestsPerMinute = r.requestsPerMinute.value
  if (r.tokensPerMinute._tag === "Some") out.tokensPerMinute = r.tokensPerMinute.value
  return out
}))

const d = LlmConfig.defaults

/** The settings under the current config path (nest it, e.g. `Config.nested(config, "llm")`). */
export const config: Config.Config<Context.Tag.Service<LlmConfig>> = Config.all({
  endpoints: Config.array(endpoint, "endpoints").pipe(Config.withDefault([])),
  strategy: Config.literal(...Hub.Strategy.literals)("strategy").pipe(
    Config.withDefault(d.strategy),
    Config.withDescription("how calls are spread over endpoints")
  ),
  healthInterval: Config.duration("health_interval").pipe(Config.withDefault(d.healthInterval)),
  failureThreshold: Config.integer("failure_threshold").pipe(Config.withDefault(d.failureThreshold)),
  resetTimeout: Config.duration("reset_timeout").pipe(Config.withDefault(d.resetTimeout)),
  retryOnOtherInstance: Config.integer("retry_on_other_instance").pipe(Config.withDefault(d.retryOnOtherInstance)),
  requestTimeout: Config.duration("request_timeout").pipe(Config.withDefault(d.requestTimeout)),
  defaultMaxTokens: Config.integer("default_max_tokens").pipe(Config.withDefault(d.defaultMaxTokens)),
  rateLimits: Config.array(rateLimit, "rate_limits").pipe(
    Config.withDefault([]),
    // A missing list reads as one empty entry through some providers: keep only limits that name a target.
    Config.map((limits) => limits.filter((l) => l.model !== undefined || l.endpoint !== undefined))
  ),
  cache: Config.all({
    enabled: Config.boolean("enabled").pipe(Config.withDefault(d.cache.enabled)),
    maxEntries: Config.integer("max_entries").pipe(Config.withDefault(d.cache.maxEntries))
  }).pipe(Config.nested("cache")),
  discoverPorts: Config.array(Config.integer(), "discover_ports").pipe(
    Config.withDefault([]),
    Config.withDescription("ports on 127.0.0.1 probed for local Ollama servers at start (e.g. [11434])")
  )
})
