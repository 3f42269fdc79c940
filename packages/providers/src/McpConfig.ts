/**
 * Configuration of the MCP provider: the servers to connect to, from the `mcp` section of `gleitzeit.yaml`
 * (`mcp: { servers: { name: { command, args, env, cwd } | { url, headers } } }`), and how connections are checked.
 * (What a workflow's own `providers:` block may add is decided by `WorkflowProviders`.)
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as McpClient from "./McpClient.js"

const common = {
  /** Seconds allowed for spawning/connecting and `initialize`. */
  connect_timeout: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** Longest wait in seconds for one answer (progress notifications restart it). */
  request_timeout: Schema.optional(Schema.Number.pipe(Schema.positive())),
  /** Retry tools that are neither read-only nor idempotent after infrastructure errors (default: never). */
  retry_destructive: Schema.optional(Schema.Boolean)
}

/** A server started as a child process (stdio). */
export const StdioServer = Schema.Struct({
  command: Schema.String.pipe(Schema.minLength(1)),
  args: Schema.optional(Schema.Array(Schema.String)),
  env: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  cwd: Schema.optional(Schema.String),
  ...common
})

/** A server reached over Streamable HTTP. */
export const HttpServer = Schema.Struct({
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\//)),
  headers: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
  ...common
})

/** A server name: becomes the middle of `mcp/<server>/<tool>`, so no slashes. */
export const ServerName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.-]+$/, { message: () => "a server name uses letters, digits, '_', '.', '-' only" })
)

/** The `mcp` section of `gleitzeit.yaml` (and of a workflow's `providers` block). */
export const Section = Schema.Struct({
  servers: Schema.optionalWith(Schema.Record({ key: ServerName, value: Schema.Union(StdioServer, HttpServer) }), {
    default: () => ({})
  })
})

/** One configured server. */
export interface Server {
  /** Its name (`mcp/<name>/…`). */
  readonly name: string
  /** How to reach it. */
  readonly transport: McpClient.Transport
  /** Connect timeout. */
  readonly connectTimeout: Duration.Duration
  /** Longest wait for one answer. */
  readonly requestTimeout: Duration.Duration
  /** Whether tools that are not read-only or idempotent are retried after infrastructure errors. */
  readonly retryDestructive: boolean
}

/** The MCP provider's settings. */
export class McpConfig extends Context.Tag("@gleitzeit/providers/McpConfig")<McpConfig, {
  /** The servers; each gets its tools registered as `mcp/<name>/<tool>`. */
  readonly servers: ReadonlyArray<Server>
  /** Time between health checks (`ping`) of a connection. */
  readonly checkInterval: Duration.Duration
  /** A health check (reconnect included) running longer fails. */
  readonly checkTimeout: Duration.Duration
}>() {}

/** The defaults. */
export const defaults: McpConfig["Type"] = {
  servers: [],
  checkInterval: Duration.seconds(10),
  checkTimeout: Duration.seconds(30)
}

/** A layer with the defaults overridden by `partial`. */
export const layer = (partial: Partial<McpConfig["Type"]> = {}): Layer.Layer<McpConfig> =>
  Layer.succeed(McpConfig, { ...defaults, ...partial })

/** The servers of a decoded `mcp` section. */
export const serversOf = (section: typeof Section.Type): ReadonlyArray<Server> =>
  Object.entries(section.servers).map(([name, s]): Server => ({
    name,
    transport: "url" in s
      ? { _tag: "http", url: s.url, ...(s.headers === undefined ? {} : { headers: s.headers }) }
      : {
        _tag: "stdio",
        command: s.command,
        ...(s.args === undefined ? {} : { args: s.args }),
        ...(s.env === undefined ? {} : { env: s.env }),
        ...(s.cwd === undefined ? {} : { cwd: s.cwd })
      },
    connectTimeout: Duration.seconds(s.connect_timeout ?? 30),
    requestTimeout: Duration.seconds(s.request_timeout ?? 600),
    retryDestructive: s.retry_destructive ?? false
  }))

/** Decodes an `mcp` section (absent: no servers). */
export const decode = (section: unknown): Effect.Effect<ReadonlyArray<Server>, ParseResult.ParseError> =>
  section === undefined || section === null
    ? Effect.succeed([])
    : Effect.map(Schema.decodeUnknown(Section, { errors: "all", onExcessProperty: "error" })(section), serversOf)

/**
 * Decodes one remote (Streamable HTTP) server declaration, e.g. one a workflow adds under a grant; a stdio
 * declaration is not accepted here (only the configuration starts processes).
 */
export const decodeServer = (name: string, raw: unknown): Either.Either<Server, string> => {
  const named = Schema.decodeUnknownEither(ServerName)(name)
  if (Either.isLeft(named)) return Either.left(ParseResult.TreeFormatter.formatErrorSync(named.left))
  return Schema.decodeUnknownEither(HttpServer, { errors: "all", onExcessProperty: "error" })(raw).pipe(
    Either.mapBoth({
      onLeft: (error) => ParseResult.TreeFormatter.formatErrorSync(error),
      onRight: (server) => serversOf({ servers: { [name]: server } })[0]!
    })
  )
}
