/**
 * The CLI's configuration: `gleitzeit.yaml` in the working directory (or `--config FILE`), overridden by
 * `GLEITZEIT_*` environment variables (e.g. `GLEITZEIT_DATABASE`, `GLEITZEIT_LLM_STRATEGY`). The file is read and
 * parsed once per invocation; every section is decoded from that one document.
 */
import { Template } from "@gleitzeit/core"
import { LlmConfig, McpConfig, PathPolicy, PythonConfig, WorkflowProviders } from "@gleitzeit/providers"
import { ApiConfig, ApiKeys } from "@gleitzeit/runtime"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import { existsSync, readFileSync } from "node:fs"
import { parse } from "yaml"

/** The general settings. */
export interface Settings {
  /** The journal: a SQLite file (embedded), or a `postgres://` URL (a cluster's shared database). */
  readonly database: string
  /** Redis shared by a cluster's members (events, LLM rate limits and cache); none by default. */
  readonly redis: string | undefined
  /** The prefix of every Redis key and channel (one cluster per prefix). */
  readonly redisPrefix: string
  /** Task attempts running at once. */
  readonly concurrency: number
  /** SQLite durability: `normal` survives process crashes, `full` also power loss. */
  readonly synchronous: "normal" | "full"
  /** Largest task result in bytes. */
  readonly maxPayloadBytes: number
  /** Largest workflow file in bytes (checked before it is read). */
  readonly maxWorkflowBytes: number
  /** The HTTP provider. */
  readonly http: { readonly timeoutSeconds: number; readonly maxResponseBytes: number }
}

/** The general settings' descriptor, with defaults and descriptions. */
export const settings: Config.Config<Settings> = Config.all({
  database: Config.string("database").pipe(
    Config.withDefault(".gleitzeit/gleitzeit.db"),
    Config.withDescription("SQLite journal file, or postgres:// URL of a cluster")
  ),
  redis: Config.string("redis").pipe(
    Config.option,
    Config.map(Option.getOrUndefined),
    Config.withDescription("Redis URL shared by a cluster's members")
  ),
  redisPrefix: Config.string("redis_prefix").pipe(
    Config.withDefault("gleitzeit:"),
    Config.withDescription("prefix of the cluster's Redis keys and channels")
  ),
  concurrency: Config.integer("concurrency").pipe(
    Config.withDefault(64),
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDescription("task attempts running at once")
  ),
  synchronous: Config.literal("normal", "full")("synchronous").pipe(
    Config.withDefault("normal" as const),
    Config.withDescription("SQLite durability")
  ),
  maxPayloadBytes: Config.integer("max_payload_bytes").pipe(
    Config.withDefault(16 * 1024 * 1024),
    Config.withDescription("largest task result in bytes")
  ),
  maxWorkflowBytes: Config.integer("max_workflow_bytes").pipe(
    Config.withDefault(10 * 1024 * 1024),
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDescription("largest workflow file in bytes")
  ),
  http: Config.all({
    timeoutSeconds: Config.number("timeout").pipe(Config.withDefault(30)),
    maxResponseBytes: Config.integer("max_response_bytes").pipe(Config.withDefault(10 * 1024 * 1024))
  }).pipe(Config.nested("http"))
})

/** The scalar settings of the `api` section (its `keys` are read from the file alone). */
const apiScalars = Config.all({
  host: Config.string("host").pipe(
    Config.withDefault(ApiConfig.defaults.host),
    Config.withDescription("address the API listens on (anything but loopback needs a key)")
  ),
  port: Config.port("port").pipe(Config.withDefault(ApiConfig.defaults.port)),
  requestsPerMinute: Config.integer("requests_per_minute").pipe(
    Config.withDefault(ApiConfig.defaults.requestsPerMinute),
    Config.withDescription("requests per minute per key (0: unlimited)")
  ),
  maxBodyBytes: Config.integer("max_body_bytes").pipe(Config.withDefault(ApiConfig.defaults.maxBodyBytes)),
  requestTimeoutSeconds: Config.number("request_timeout").pipe(
    Config.withDefault(ApiConfig.defaults.requestTimeoutMs / 1000)
  ),
  maxWaitSeconds: Config.integer("max_wait").pipe(Config.withDefault(ApiConfig.defaults.maxWaitSeconds)),
  corsOrigins: Config.array(Config.string(), "cors_origins").pipe(Config.withDefault([] as ReadonlyArray<string>)),
  workflows: Config.string("workflows").pipe(
    Config.option,
    Config.map(Option.getOrUndefined),
    Config.withDescription("directory of registered workflows")
  )
})

/** The configuration of one invocation. */
export class Configuration extends Context.Tag("@gleitzeit/cli/Configuration")<Configuration, {
  /** The file it was read from, if any. */
  readonly file: string | undefined
  /** General settings. */
  readonly settings: Settings
  /** The LLM provider (`llm:`). */
  readonly llm: LlmConfig.LlmConfig["Type"]
  /** Whether `llm:` names endpoints or discovery ports; when not, a local Ollama is probed (`ollamaUrl`). */
  readonly llmDeclared: boolean
  /** Where a local Ollama is probed when no LLM endpoint is configured (`OLLAMA_HOST`, else 127.0.0.1:11434). */
  readonly ollamaUrl: string
  /** The MCP servers (`mcp:`). */
  readonly mcp: ReadonlyArray<McpConfig.Server>
  /** The Python sandbox (`python:`). */
  readonly python: PythonConfig.Settings
  /** What workflows' own `providers:` blocks may add (`grants:`). */
  readonly grants: WorkflowProviders.Grants
  /** The path policy (`files:`); the configuration file and the journal are denied whatever the roots. */
  readonly files: Partial<PathPolicy.Settings>
  /** The HTTP API server (`api:`), its keys included. */
  readonly api: ApiConfig.Settings
  /** The secrets workflows may name as `${secrets.NAME}` (`secrets:`, `GLEITZEIT_SECRET_<NAME>`). */
  readonly secrets: Readonly<Record<string, Redacted.Redacted<string>>>
}>() {}

/** A configuration that cannot be read, parsed or decoded. */
export class ConfigurationError extends Data.TaggedError("ConfigurationError")<{ readonly message: string }> {}

/** Where the configuration comes from. */
export interface Source {
  /** `--config FILE`; without it `gleitzeit.yaml` in the working directory is read when present. */
  readonly file?: string | undefined
  /** The environment's provider (`GLEITZEIT_*`), set up by the executable's main. */
  readonly env: ConfigProvider.ConfigProvider
  /** `OLLAMA_HOST` as the environment gives it. */
  readonly ollamaHost?: string | undefined
  /** Secrets from the environment (`GLEITZEIT_SECRET_<NAME>` → `NAME`), over the file's `secrets:` section. */
  readonly secrets?: Readonly<Record<string, string>> | undefined
}

/** The URL of a local Ollama from `OLLAMA_HOST` (`host`, `host:port` or a URL), else the default. */
export const ollamaUrlOf = (host: string | undefined): string => {
  if (host === undefined || host.trim() === "") return "http://127.0.0.1:11434"
  const trimmed = host.trim().replace(/\/+$/, "")
  const withScheme = /^https?:\/\//.test(trimmed) ? trimmed : `http://${trimmed}`
  return /:\d+$/.test(withScheme.replace(/^https?:\/\//, "")) ? withScheme : `${withScheme}:11434`
}

const describe = (error: ConfigError.ConfigError | ParseResult.ParseError): string =>
  ParseResult.isParseError(error) ? ParseResult.TreeFormatter.formatErrorSync(error) : String(error)

/** Reads the configuration: the file once, each section from it with `GLEITZEIT_*` variables over it. */
export const load = (source: Source): Effect.Effect<Configuration["Type"], ConfigurationError> =>
  Effect.gen(function*() {
    const path = source.file ?? (existsSync("gleitzeit.yaml") ? "gleitzeit.yaml" : undefined)
    const document = path === undefined ? {} : yield* Effect.try({
      try: () => (parse(readFileSync(path, "utf8")) ?? {}) as unknown,
      catch: (cause) =>
        new ConfigurationError({
          message: `cannot read ${path}: ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}`
        })
    })
    if (typeof document !== "object" || document === null || Array.isArray(document)) {
      return yield* new ConfigurationError({ message: `${path}: must be a mapping of settings` })
    }
    const provider = ConfigProvider.orElse(
      source.env,
      () => ConfigProvider.fromJson(document)
    )
    const section = <A>(name: string | undefined, descriptor: Config.Config<A>) =>
      Effect.withConfigProvider(name === undefined ? descriptor : Config.nested(descriptor, name), provider).pipe(
        Effect.mapError((error) =>
          new ConfigurationError({
            message: `${path ?? "environment"}: ${name === undefined ? "" : `${name}: `}${describe(error)}`
          })
        )
      )
    const record = document as Record<string, unknown>
    const llmSection = record["llm"]
    const llm = yield* section("llm", LlmConfig.config)
    const general = yield* section(undefined, settings)
    const mcp = yield* McpConfig.decode(record["mcp"]).pipe(
      Effect.mapError((error) => new ConfigurationError({ message: `${path}: mcp: ${describe(error)}` }))
    )
    return {
      file: path,
      settings: general,
      llm,
      llmDeclared: llm.endpoints.length > 0 ||
        (typeof llmSection === "object" && llmSection !== null && "discover_ports" in llmSection),
      ollamaUrl: ollamaUrlOf(source.ollamaHost),
      mcp,
      python: yield* section("python", PythonConfig.config),
      grants: yield* section("grants", WorkflowProviders.config),
      files: { ...(yield* section("files", PathPolicy.config)), deny: deniedFiles(path, general.database) },
      api: yield* Effect.gen(function*() {
        const { requestTimeoutSeconds, ...scalars } = yield* section("api", apiScalars)
        const apiSection = record["api"]
        const keys = yield* ApiKeys.decodeKeys(
          typeof apiSection === "object" && apiSection !== null ? (apiSection as { keys?: unknown }).keys ?? [] : []
        ).pipe(Effect.mapError((error) => new ConfigurationError({ message: `${path}: api.keys: ${describe(error)}` })))
        return {
          ...ApiConfig.defaults,
          ...scalars,
          requestTimeoutMs: Math.round(requestTimeoutSeconds * 1000),
          keys,
          providers: { llm, mcp }
        } satisfies ApiConfig.Settings
      }),
      secrets: yield* secretsOf(path, record["secrets"], source.secrets ?? {})
    }
  })

/** The `secrets:` section (a mapping of names to text), the environment's secrets over it. */
const secretsOf = (
  path: string | undefined,
  section: unknown,
  fromEnv: Readonly<Record<string, string>>
): Effect.Effect<Record<string, Redacted.Redacted<string>>, ConfigurationError> => {
  const failed = (message: string) => Effect.fail(new ConfigurationError({ message: `${path}: secrets: ${message}` }))
  if (section !== undefined && section !== null && (typeof section !== "object" || Array.isArray(section))) {
    return failed("must be a mapping of names to values")
  }
  const out: Record<string, Redacted.Redacted<string>> = {}
  for (const [name, value] of Object.entries({ ...(section ?? {}) as Record<string, unknown>, ...fromEnv })) {
    if (!Template.secretName.test(name)) return failed(`'${name}' is not a name (letters, digits and '_')`)
    if (typeof value !== "string" && typeof value !== "number") return failed(`${name} must be text`)
    out[name] = Redacted.make(String(value))
  }
  return Effect.succeed(out)
}

/** Files no workflow may read, whatever the roots: the configuration file and the SQLite journal's files. */
const deniedFiles = (configFile: string | undefined, database: string): ReadonlyArray<string> => [
  ...(configFile === undefined ? [] : [configFile]),
  ...(isCluster(database) ? [] : ["", "-wal", "-shm", "-journal"].map((suffix) => `${database}${suffix}`))
]

/** The configuration of this invocation, read once. */
export const layer = (source: Source): Layer.Layer<Configuration, ConfigurationError> =>
  Layer.effect(Configuration, load(source))

/** The environment's `GLEITZEIT_*` variables as a config provider (`GLEITZEIT_LLM_STRATEGY` → `llm.strategy`). */
export const fromEnv = (): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase, ConfigProvider.nested("GLEITZEIT"))

/** True when the journal is a PostgreSQL database, i.e. the commands talk to a cluster. */
export const isCluster = (database: string): boolean => /^postgres(ql)?:\/\//.test(database)
