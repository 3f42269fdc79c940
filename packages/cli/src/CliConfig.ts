/**
 * The CLI's configuration: `gleitzeit.yaml` in the working directory (or `--config FILE`), overridden by
 * `GLEITZEIT_*` environment variables (e.g. `GLEITZEIT_DATABASE`, `GLEITZEIT_HTTP_TIMEOUT`).
 */
import { LlmConfig, McpConfig, PythonConfig } from "@gleitzeit/providers"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import { existsSync, readFileSync } from "node:fs"
import { parse } from "yaml"

/** The settings the CLI needs. */
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
  /** The HTTP provider. */
  readonly http: { readonly timeoutSeconds: number; readonly maxResponseBytes: number }
}

/** The configuration descriptor, with defaults and descriptions. */
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
  http: Config.all({
    timeoutSeconds: Config.number("timeout").pipe(Config.withDefault(30)),
    maxResponseBytes: Config.integer("max_response_bytes").pipe(Config.withDefault(10 * 1024 * 1024))
  }).pipe(Config.nested("http"))
})

/** A configuration file that cannot be read or parsed. */
export class ConfigFileError extends Error {
  readonly _tag = "ConfigFileError"
}

/** Reads a descriptor from the configuration file (or `gleitzeit.yaml` when present), `GLEITZEIT_*` over it. */
const loadWith = <A>(
  file: string | undefined,
  descriptor: Config.Config<A>
): Effect.Effect<A, ConfigError.ConfigError | ConfigFileError> =>
  Effect.suspend((): Effect.Effect<A, ConfigError.ConfigError | ConfigFileError> => {
    const path = file ?? (existsSync("gleitzeit.yaml") ? "gleitzeit.yaml" : undefined)
    let document: unknown = {}
    if (path !== undefined) {
      try {
        document = parse(readFileSync(path, "utf8")) ?? {}
      } catch (cause) {
        return Effect.fail(new ConfigFileError(`cannot read configuration ${path}: ${String(cause)}`))
      }
    }
    const fromFile = ConfigProvider.fromJson(document)
    const fromEnv = ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase, ConfigProvider.nested("GLEITZEIT"))
    return Effect.withConfigProvider(descriptor, ConfigProvider.orElse(fromEnv, () => fromFile))
  })

/** Reads the settings: the given file (or `gleitzeit.yaml` when present), then the environment over it. */
export const load = (file: string | undefined): Effect.Effect<Settings, ConfigError.ConfigError | ConfigFileError> =>
  loadWith(file, settings)

/** Reads the MCP servers of the configuration file's `mcp` section (none without a file or section). */
export const loadMcp = (
  file: string | undefined
): Effect.Effect<ReadonlyArray<McpConfig.Server>, ConfigFileError> =>
  Effect.suspend(() => {
    const path = file ?? (existsSync("gleitzeit.yaml") ? "gleitzeit.yaml" : undefined)
    if (path === undefined) return Effect.succeed([])
    return Effect.try({
      try: () => (parse(readFileSync(path, "utf8")) ?? {}) as { readonly mcp?: unknown },
      catch: (cause) => new ConfigFileError(`cannot read configuration ${path}: ${String(cause)}`)
    }).pipe(
      Effect.flatMap((document) => McpConfig.decode(document.mcp)),
      Effect.mapError((error) =>
        error instanceof ConfigFileError
          ? error
          : new ConfigFileError(`${path}: mcp: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)
      )
    )
  })

/** Reads a nested section of the configuration: the file's section, `GLEITZEIT_<SECTION>_*` variables over it. */
const loadSection = <A>(
  file: string | undefined,
  section: string,
  descriptor: Config.Config<A>
): Effect.Effect<A, ConfigError.ConfigError | ConfigFileError> => loadWith(file, Config.nested(descriptor, section))

/** Reads the LLM settings: the configuration file's `llm` section, `GLEITZEIT_LLM_*` variables over it. */
export const loadLlm = (
  file: string | undefined
): Effect.Effect<LlmConfig.LlmConfig["Type"], ConfigError.ConfigError | ConfigFileError> =>
  loadSection(file, "llm", LlmConfig.config)

/** Reads the Python sandbox settings: the file's `python` section, `GLEITZEIT_PYTHON_*` variables over it. */
export const loadPython = (
  file: string | undefined
): Effect.Effect<PythonConfig.Settings, ConfigError.ConfigError | ConfigFileError> =>
  loadSection(file, "python", PythonConfig.config)

/** True when the journal is a PostgreSQL database, i.e. the commands talk to a cluster. */
export const isCluster = (database: string): boolean => /^postgres(ql)?:\/\//.test(database)
