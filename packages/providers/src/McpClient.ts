/**
 * One connection to an MCP server (stdio or Streamable HTTP) through the official SDK, wrapped once: every request is
 * an Effect whose interruption aborts it (the SDK then sends `notifications/cancelled`), and the connection is a
 * scoped resource closed with its scope.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type {
  CallToolResult,
  GetPromptResult,
  Prompt,
  ReadResourceResult,
  Resource,
  Tool
} from "@modelcontextprotocol/sdk/types.js"
import { McpError as SdkMcpError } from "@modelcontextprotocol/sdk/types.js"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** A server started as a child process speaking MCP over its stdin/stdout. */
export interface StdioTransport {
  readonly _tag: "stdio"
  /** The executable. */
  readonly command: string
  /** Its arguments. */
  readonly args?: ReadonlyArray<string>
  /** Extra environment variables (added to the SDK's safe default environment). */
  readonly env?: Readonly<Record<string, string>>
  /** Working directory. */
  readonly cwd?: string
}

/** A server reached over Streamable HTTP. */
export interface HttpTransport {
  readonly _tag: "http"
  /** The MCP endpoint, e.g. `http://127.0.0.1:3001/mcp`. */
  readonly url: string
  /** Headers sent with every request (e.g. `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>
}

/** How to reach a server. */
export type Transport = StdioTransport | HttpTransport

/** How to connect. */
export interface Options {
  /** The server's name (for messages). */
  readonly name: string
  /** How to reach it. */
  readonly transport: Transport
  /** Connecting (spawn or HTTP, then `initialize`) taking longer fails. */
  readonly connectTimeout?: Duration.DurationInput
  /** Longest wait for one request's answer; progress notifications restart it. */
  readonly requestTimeout?: Duration.DurationInput
  /** Called (synchronously, e.g. to offer to a queue) when the server says its tool list changed. */
  readonly onToolsChanged?: () => void
}

/** A failed MCP request or connection: the JSON-RPC `code` when the server (or the SDK) gave one. */
export class McpError extends Data.TaggedError("McpError")<{
  readonly server: string
  readonly operation: string
  readonly message: string
  readonly code?: number
  /** True when the connection could not be made or was lost. */
  readonly connection: boolean
  readonly cause?: unknown
}> {}

/** JSON-RPC / MCP codes the SDK uses for transport-level failures. */
export const Codes = { ConnectionClosed: -32000, RequestTimeout: -32001, InvalidParams: -32602, MethodNotFound: -32601 }

/** One open connection. */
export interface McpClient {
  /** The server's name. */
  readonly name: string
  /** The command line or URL, for messages and metrics. */
  readonly endpoint: string
  /** The server process id (stdio only). */
  readonly pid: number | undefined
  /** True once the transport closed (the server exited or the connection dropped). */
  readonly closed: () => boolean
  /** `tools/list`, every page. */
  readonly listTools: Effect.Effect<ReadonlyArray<Tool>, McpError>
  /** `tools/call`; interruption sends `notifications/cancelled`. */
  readonly callTool: (name: string, args: Record<string, unknown>) => Effect.Effect<CallToolResult, McpError>
  /** `resources/list`, every page. */
  readonly listResources: Effect.Effect<ReadonlyArray<Resource>, McpError>
  /** `resources/read`. */
  readonly readResource: (uri: string) => Effect.Effect<ReadResourceResult, McpError>
  /** `prompts/list`, every page. */
  readonly listPrompts: Effect.Effect<ReadonlyArray<Prompt>, McpError>
  /** `prompts/get`. */
  readonly getPrompt: (name: string, args: Record<string, string>) => Effect.Effect<GetPromptResult, McpError>
  /** `ping`. */
  readonly ping: Effect.Effect<void, McpError>
}

const messageOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** The command line or URL of a transport. */
export const endpointOf = (transport: Transport): string =>
  transport._tag === "http" ? transport.url : [transport.command, ...(transport.args ?? [])].join(" ")

const toError = (server: string, operation: string, closed: boolean) => (cause: unknown): McpError => {
  const code = cause instanceof SdkMcpError ? cause.code : undefined
  return new McpError({
    server,
    operation,
    message: `MCP server '${server}': ${operation} failed: ${messageOf(cause)}`,
    ...(code === undefined ? {} : { code }),
    connection: closed || code === Codes.ConnectionClosed || !(cause instanceof SdkMcpError),
    cause
  })
}

/** Connects to a server (within `connectTimeout`); the connection (and a stdio server's process) closes with the scope. */
export const make = (options: Options): Effect.Effect<McpClient, McpError, Scope.Scope> =>
  Effect.gen(function*() {
    const { name, transport: spec } = options
    const connectMs = Duration.toMillis(Duration.decode(options.connectTimeout ?? Duration.seconds(30)))
    const requestMs = Duration.toMillis(Duration.decode(options.requestTimeout ?? Duration.minutes(10)))
    let closed = false
    const onToolsChanged = options.onToolsChanged
    const client = new Client(
      { name: "gleitzeit", version: "0.1.0" },
      onToolsChanged === undefined
        ? {}
        : { listChanged: { tools: { autoRefresh: false, onChanged: () => onToolsChanged() } } }
    )
    client.onclose = () => {
      closed = true
    }
    const transport = spec._tag === "stdio"
      ? new StdioClientTransport({
        command: spec.command,
        args: [...(spec.args ?? [])],
        ...(spec.env === undefined ? {} : { env: { ...getDefaultEnvironment(), ...spec.env } }),
        ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
        stderr: "ignore"
      })
      : new StreamableHTTPClientTransport(new URL(spec.url), {
        ...(spec.headers === undefined ? {} : { requestInit: { headers: { ...spec.headers } } })
      })

    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: (signal) => client.connect(transport, { signal, timeout: connectMs }),
        catch: toError(name, "connect", true)
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.millis(connectMs),
          onTimeout: () =>
            new McpError({
              server: name,
              operation: "connect",
              message: `MCP server '${name}': no connection within ${connectMs} ms`,
              code: Codes.RequestTimeout,
              connection: true
            })
        }),
        Effect.tapError(() => Effect.promise(() => client.close().catch(() => undefined)))
      ),
      () => Effect.promise(() => client.close().catch(() => undefined))
    )

    const request = <A>(operation: string, f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, McpError> =>
      Effect.tryPromise({
        try: f,
        catch: (cause) => toError(name, operation, closed)(cause)
      })

    const opts = (signal: AbortSignal) => ({ signal, timeout: requestMs, resetTimeoutOnProgress: true })

    const paged = <A>(
      operation: string,
      page: (cursor: string | undefined, signal: AbortSignal) => Promise<{ items: Array<A>; next?: string | undefined }>
    ) =>
      request(operation, async (signal) => {
        const all: Array<A> = []
        let cursor: string | undefined
        do {
          const { items, next } = await page(cursor, signal)
          all.push(...items)
          cursor = next
        } while (cursor !== undefined)
        return all as ReadonlyArray<A>
      })

    return {
      name,
      endpoint: endpointOf(spec),
      pid: transport instanceof StdioClientTransport ? transport.pid ?? undefined : undefined,
      closed: () => closed,
      listTools: paged("tools/list", async (cursor, signal) => {
        const r = await client.listTools(cursor === undefined ? {} : { cursor }, opts(signal))
        return { items: r.tools, next: r.nextCursor }
      }),
      callTool: (tool, args) =>
        request(
          `tools/call ${tool}`,
          (signal) =>
            client.callTool({ name: tool, arguments: args }, undefined, opts(signal)) as Promise<CallToolResult>
        ),
      listResources: paged("resources/list", async (cursor, signal) => {
        const r = await client.listResources(cursor === undefined ? {} : { cursor }, opts(signal))
        return { items: r.resources, next: r.nextCursor }
      }),
      readResource: (uri) => request(`resources/read ${uri}`, (signal) => client.readResource({ uri }, opts(signal))),
      listPrompts: paged("prompts/list", async (cursor, signal) => {
        const r = await client.listPrompts(cursor === undefined ? {} : { cursor }, opts(signal))
        return { items: r.prompts, next: r.nextCursor }
      }),
      getPrompt: (prompt, args) =>
        request(`prompts/get ${prompt}`, (signal) => client.getPrompt({ name: prompt, arguments: args }, opts(signal))),
      ping: request("ping", (signal) => client.ping(opts(signal))).pipe(Effect.asVoid)
    }
  })
