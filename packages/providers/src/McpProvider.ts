/**
 * MCP servers as providers: every tool of every configured server is the method `mcp/<server>/<tool>`, next to
 * `mcp/<server>/tools/list`, `mcp/<server>/resources/list|read`, `mcp/<server>/prompts/list|get` and the
 * predecessor's `mcp/tools/list` and `mcp/ping`.
 *
 * Each server is one instance of the `mcp` hub: connected once and shared by every call, pinged by the hub's health
 * loop, reconnected when its process exited or its connection dropped (at the next check or call, whichever comes
 * first), and closed with the layer. Tools are discovered with `tools/list` when the layer is built and registered
 * into the `ProviderRegistry`, so workflow validation knows them. Params are checked against the tool's JSON input
 * schema before the call; tool annotations decide retries (read-only or idempotent tools are retried after
 * infrastructure errors, others are not unless the server says `retry_destructive`).
 */
import { Json, Protocol, ProviderError } from "@gleitzeit/core"
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Hub from "./Hub.js"
import { toolParams } from "./internal/mcp/jsonSchema.js"
import * as McpClient from "./McpClient.js"
import * as McpConfig from "./McpConfig.js"
import type { Health, Provider } from "./Provider.js"
import * as ProviderRegistry from "./ProviderRegistry.js"

/** A server's shared connection: reopened on demand after it closed. */
export interface Connection {
  /** The server. */
  readonly server: McpConfig.Server
  /** The open client, reconnecting first when the previous one closed or was invalidated. */
  readonly client: Effect.Effect<McpClient.McpClient, McpClient.McpError>
  /** Closes the current client so the next use reconnects (after a failed health check). */
  readonly invalidate: Effect.Effect<void>
  /** How many times it connected. */
  readonly connects: () => number
}

/**
 * Opens connections lazily; the current one closes with the scope. `onChange` is called after every successful
 * connect and whenever the server says its tools changed (so the provider discovers them again).
 */
export const makeConnection = (
  server: McpConfig.Server,
  onChange: () => void = () => {}
): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function*() {
    const lock = yield* Effect.makeSemaphore(1)
    let current: { readonly client: McpClient.McpClient; readonly scope: Scope.CloseableScope } | undefined
    let connects = 0
    const close = Effect.suspend(() => {
      const open = current
      current = undefined
      return open === undefined ? Effect.void : Scope.close(open.scope, Exit.void)
    })
    const open = Effect.gen(function*() {
      yield* close
      const scope = yield* Scope.make()
      const client = yield* McpClient.make({
        name: server.name,
        transport: server.transport,
        connectTimeout: server.connectTimeout,
        requestTimeout: server.requestTimeout,
        onToolsChanged: onChange
      }).pipe(Scope.extend(scope), Effect.onError(() => Scope.close(scope, Exit.void)))
      connects++
      onChange()
      current = { client, scope }
      return client
    })
    yield* Effect.addFinalizer(() => close)
    const fresh = () => current !== undefined && !current.client.closed() ? current.client : undefined
    const client = Effect.suspend(() => {
      const c = fresh()
      return c !== undefined
        ? Effect.succeed(c)
        : lock.withPermits(1)(Effect.suspend(() => {
          const again = fresh()
          return again !== undefined ? Effect.succeed(again) : open
        }))
    })
    return { server, client, invalidate: lock.withPermits(1)(close), connects: () => connects }
  })

/**
 * Whether a tool may be called again after an infrastructure error, by its annotations: read-only tools, and
 * idempotent tools that declare themselves non-destructive. MCP's defaults make a tool without annotations
 * destructive, and a destructive tool is not retried even when idempotent (unless the server sets `retry_destructive`).
 */
export const isRetrySafe = (tool: Tool): boolean =>
  tool.annotations?.readOnlyHint === true ||
  (tool.annotations?.idempotentHint === true && tool.annotations.destructiveHint === false)

const decodeJson = Schema.decodeUnknown(Json.Json)

/** A server's failure as a `ProviderError`; `retrySafe` false makes it non-retryable whatever the reason. */
export const toProviderError = (method: string, retrySafe: boolean) => (error: McpClient.McpError) => {
  const reason: ProviderError.Reason = error.code === McpClient.Codes.RequestTimeout
    ? { _tag: "Timeout" }
    : error.connection
    ? { _tag: "Unavailable" }
    : error.code === McpClient.Codes.InvalidParams
    ? { _tag: "InvalidParams" }
    : error.code === McpClient.Codes.MethodNotFound
    ? { _tag: "NotFound" }
    : { _tag: "Internal" }
  return ProviderError.make({
    provider: `mcp:${error.server}`,
    method,
    reason,
    message: error.message,
    cause: error,
    ...(retrySafe ? {} : { retryable: false })
  })
}

const textOf = (items: ReadonlyArray<unknown>): string =>
  items.flatMap((c) => typeof c === "object" && c !== null && "text" in c && typeof c.text === "string" ? [c.text] : [])
    .join("\n")

const toJson = (provider: string, method: string) => (value: unknown) =>
  decodeJson(value).pipe(
    Effect.mapError((cause) =>
      ProviderError.make({
        provider,
        method,
        reason: { _tag: "BadResponse" },
        message: `${method}: the server's answer is not JSON`,
        cause
      })
    )
  )

/** The result of a tool call: `{ content, structuredContent?, response }` (`response`: the text content, joined). */
export const toolResult = (provider: string, method: string) => (result: CallToolResult) => {
  const response = textOf(result.content)
  if (result.isError === true) {
    return Effect.fail(ProviderError.make({
      provider,
      method,
      reason: { _tag: "ExecutionFailed" },
      message: `${method}: ${response === "" ? "the tool reported an error" : response}`
    }))
  }
  return toJson(provider, method)({
    content: result.content,
    ...(result.structuredContent === undefined ? {} : { structuredContent: result.structuredContent }),
    response
  })
}

type Handler = (params: unknown) => Effect.Effect<Json.Json, ProviderError.ProviderError>

const NoParams = Schema.Struct({})
const ReadParams = Schema.Struct({ uri: Schema.String })
const PromptParams = Schema.Struct({
  name: Schema.String,
  arguments: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String }))
})
const ServerParams = Schema.Struct({ server: Schema.optional(Schema.String) })

/** A discovered tool, as `mcp/tools/list` reports it. */
interface Discovered {
  readonly server: string
  readonly method: string
  readonly tool: Tool
}

const toolEntry = (d: Discovered) => ({
  server: d.server,
  name: d.tool.name,
  method: d.method,
  ...(d.tool.description === undefined ? {} : { description: d.tool.description }),
  inputSchema: d.tool.inputSchema,
  ...(d.tool.annotations === undefined ? {} : { annotations: d.tool.annotations })
})

/** The provider of one server, with its tools as methods. */
const serverProvider = (
  hub: Hub.Hub<Connection>,
  server: McpConfig.Server,
  tools: ReadonlyArray<Tool>
): { readonly provider: Provider; readonly discovered: ReadonlyArray<Discovered> } => {
  const id = `mcp:${server.name}`
  const prefix = `mcp/${server.name}/`
  const handlers = new Map<string, Handler>()
  const methods: Array<Protocol.MethodSpec> = []
  const discovered: Array<Discovered> = []

  const use = <A>(
    method: string,
    retrySafe: boolean,
    f: (client: McpClient.McpClient) => Effect.Effect<A, McpClient.McpError>
  ) =>
    hub.use(
      { capability: server.name, method },
      (instance) =>
        Effect.flatMap(instance.resource.client, f).pipe(Effect.mapError(toProviderError(method, retrySafe)))
    )

  const add = (spec: Omit<Protocol.MethodSpec, "protocol">, handler: Handler) => {
    methods.push(Protocol.method({ ...spec, protocol: "mcp/v1" }))
    handlers.set(spec.name, handler)
  }

  add({
    name: `${prefix}tools/list`,
    description: `List the tools of MCP server '${server.name}'`,
    params: NoParams,
    idempotent: true
  }, () =>
    use(`${prefix}tools/list`, true, (c) => c.listTools).pipe(
      Effect.flatMap((list) =>
        toJson(id, `${prefix}tools/list`)({
          tools: list.map((tool) => toolEntry({ server: server.name, method: prefix + tool.name, tool }))
        })
      )
    ))
  add({
    name: `${prefix}resources/list`,
    description: `List the resources of MCP server '${server.name}'`,
    params: NoParams,
    idempotent: true
  }, () =>
    use(`${prefix}resources/list`, true, (c) => c.listResources).pipe(
      Effect.flatMap((resources) => toJson(id, `${prefix}resources/list`)({ resources }))
    ))
  add(
    {
      name: `${prefix}resources/read`,
      description: `Read a resource of MCP server '${server.name}' by uri`,
      params: ReadParams,
      idempotent: true
    },
    (params) =>
      use(`${prefix}resources/read`, true, (c) => c.readResource((params as typeof ReadParams.Type).uri)).pipe(
        Effect.flatMap((r) =>
          toJson(id, `${prefix}resources/read`)({ contents: r.contents, response: textOf(r.contents) })
        )
      )
  )
  add({
    name: `${prefix}prompts/list`,
    description: `List the prompts of MCP server '${server.name}'`,
    params: NoParams,
    idempotent: true
  }, () =>
    use(`${prefix}prompts/list`, true, (c) => c.listPrompts).pipe(
      Effect.flatMap((prompts) => toJson(id, `${prefix}prompts/list`)({ prompts }))
    ))
  add({
    name: `${prefix}prompts/get`,
    description: `Get a prompt of MCP server '${server.name}' with arguments`,
    params: PromptParams,
    idempotent: true
  }, (params) => {
    const p = params as typeof PromptParams.Type
    return use(`${prefix}prompts/get`, true, (c) => c.getPrompt(p.name, { ...p.arguments })).pipe(
      Effect.flatMap((r) =>
        toJson(id, `${prefix}prompts/get`)({
          ...(r.description === undefined ? {} : { description: r.description }),
          messages: r.messages,
          response: textOf(r.messages.map((m) => m.content))
        })
      )
    )
  })

  for (const tool of tools) {
    const name = prefix + tool.name
    if (handlers.has(name)) continue
    const retrySafe = isRetrySafe(tool) || server.retryDestructive
    discovered.push({ server: server.name, method: name, tool })
    add({
      name,
      description: (tool.description ?? tool.title ?? tool.name).split("\n")[0]!,
      params: toolParams(tool.inputSchema),
      idempotent: isRetrySafe(tool)
    }, (params) =>
      use(name, retrySafe, (c) => c.callTool(tool.name, params as Record<string, unknown>)).pipe(
        Effect.flatMap(toolResult(id, name))
      ))
  }

  const provider: Provider = {
    id,
    spec: Protocol.make("mcp/v1", methods),
    execute: (method, params) => {
      const handler = handlers.get(method.name)
      return handler === undefined
        ? Effect.fail(ProviderError.make({
          provider: id,
          method: method.name,
          reason: { _tag: "NotFound" },
          message: `${id} does not serve ${method.name}`
        }))
        : handler(params)
    },
    health: instanceHealth(hub, server.name)
  }
  return { provider, discovered }
}

const instanceHealth = (hub: Hub.Hub<Connection>, name: string): Effect.Effect<Health> =>
  Effect.map(hub.instances, (all): Health => {
    const status = all.find((s) => s.instance.id === name)
    if (status === undefined) return { status: "unhealthy", detail: "not connected" }
    if (status.health.status === "healthy" && status.breaker.state === "closed") return { status: "healthy" }
    return {
      status: status.health.status === "healthy" ? "degraded" : "unhealthy",
      detail: status.health.detail ?? `breaker ${status.breaker.state}`
    }
  })

/** The predecessor's `mcp/tools/list` and `mcp/ping` over every configured server. */
const globalProvider = (hub: Hub.Hub<Connection>, discovered: () => ReadonlyArray<Discovered>): Provider => ({
  id: "mcp",
  spec: Protocol.make("mcp/v1", [
    Protocol.method({
      name: "mcp/tools/list",
      protocol: "mcp/v1",
      description: "List the tools discovered on every configured MCP server (or one: server)",
      params: ServerParams,
      idempotent: true
    }),
    Protocol.method({
      name: "mcp/ping",
      protocol: "mcp/v1",
      description: "Ping every configured MCP server (or one: server) and report latency",
      params: ServerParams,
      idempotent: true
    })
  ]),
  execute: (method, params) => {
    const { server } = params as typeof ServerParams.Type
    if (method.name === "mcp/tools/list") {
      const tools = discovered().filter((d) => server === undefined || d.server === server).map(toolEntry)
      return toJson("mcp", method.name)({ tools })
    }
    return Effect.gen(function*() {
      const all = yield* hub.instances
      const names = all.map((s) => s.instance.id).filter((n) => server === undefined || n === server)
      if (server !== undefined && names.length === 0) {
        return yield* ProviderError.make({
          provider: "mcp",
          method: method.name,
          reason: { _tag: "NotFound" },
          message: `mcp/ping: no MCP server '${server}'`
        })
      }
      const results = yield* Effect.forEach(names, (name) =>
        Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          const exit = yield* Effect.exit(
            hub.use({ capability: name, method: method.name }, (i) =>
              Effect.flatMap(i.resource.client, (c) =>
                c.ping).pipe(Effect.mapError(toProviderError(method.name, true))))
          )
          const end = yield* Clock.currentTimeMillis
          return Exit.isSuccess(exit)
            ? { server: name, ok: true, latency_ms: end - start }
            : { server: name, ok: false, error: exit.cause.toString() }
        }), { concurrency: "unbounded" })
      if (server !== undefined && results[0]?.ok === false) {
        return yield* ProviderError.make({
          provider: "mcp",
          method: method.name,
          reason: { _tag: "Unavailable" },
          message: `mcp/ping: server '${server}' did not answer: ${results[0].error}`
        })
      }
      return { servers: results } as Json.Json
    })
  },
  health: hub.health
})

const sameTools = (a: ReadonlyArray<Tool>, b: ReadonlyArray<Tool>): boolean =>
  a.length === b.length && JSON.stringify(a) === JSON.stringify(b)

/**
 * Connects every server of `McpConfig` (in parallel), discovers its tools and registers them. Tools are discovered
 * again after every reconnect and on `notifications/tools/list_changed`, and the server's provider is registered
 * anew when they changed. A server that cannot be reached at start-up keeps only its generic methods until the
 * health loop connects it.
 */
export const layer: Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | McpConfig.McpConfig> = Layer
  .scopedDiscard(
    Effect.gen(function*() {
      const config = yield* McpConfig.McpConfig
      const registry = yield* ProviderRegistry.ProviderRegistry
      const hub = yield* Hub.make<Connection>({
        name: "mcp",
        capabilityName: "server",
        checkInterval: config.checkInterval,
        checkTimeout: config.checkTimeout,
        check: (instance) =>
          Effect.flatMap(instance.resource.client, (c) => c.ping).pipe(
            Effect.as({ healthy: true }),
            Effect.tapError(() => instance.resource.invalidate)
          )
      }).pipe(Effect.orDie)
      const discovered = new Map<string, ReadonlyArray<Discovered>>()

      const discover = (server: McpConfig.Server, connection: Connection, known: ReadonlyArray<Tool> | undefined) =>
        Effect.gen(function*() {
          const tools = yield* Effect.flatMap(connection.client, (c) => c.listTools).pipe(
            Effect.tapError((error) => Effect.logWarning(`${error.message}; its tools are not available yet`)),
            Effect.option
          )
          if (tools._tag === "None" && known !== undefined) return known
          const list = tools._tag === "Some" ? tools.value : []
          if (known !== undefined && sameTools(known, list)) return known
          const built = serverProvider(hub, server, list)
          yield* registry.unregister(built.provider.id)
          yield* registry.register(built.provider)
          discovered.set(server.name, built.discovered)
          return list
        })

      yield* Effect.forEach(config.servers, (server) =>
        Effect.gen(function*() {
          const changes = yield* Queue.sliding<void>(1)
          const instance = yield* hub.addScoped(
            { id: server.name, endpoint: McpClient.endpointOf(server.transport), capabilities: [server.name] },
            makeConnection(server, () => Queue.unsafeOffer(changes, undefined))
          ).pipe(Effect.orDie)
          yield* Effect.addFinalizer(() => registry.unregister(`mcp:${server.name}`))
          let known = yield* discover(server, instance.resource, undefined)
          yield* Queue.takeAll(changes)
          yield* Queue.take(changes).pipe(
            Effect.zipRight(Effect.suspend(() => discover(server, instance.resource, known))),
            Effect.tap((tools) => {
              known = tools
            }),
            Effect.forever,
            Effect.forkScoped
          )
        }), { concurrency: "unbounded" })
      yield* registry.register(globalProvider(hub, () => [...discovered.values()].flat()))
      yield* Effect.addFinalizer(() => registry.unregister("mcp"))
    })
  )

/** The MCP provider for the given servers (other settings at their defaults). */
export const layerServers = (
  servers: ReadonlyArray<McpConfig.Server>,
  settings: Partial<Omit<McpConfig.McpConfig["Type"], "servers">> = {}
): Layer.Layer<never, never, ProviderRegistry.ProviderRegistry> =>
  layer.pipe(Layer.provide(McpConfig.layer({ ...settings, servers })))
