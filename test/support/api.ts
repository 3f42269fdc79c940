/**
 * An HTTP API server for tests: the real server (`ApiServer.layer`) over an embedded engine on a SQLite file, on a
 * free port of 127.0.0.1, with test functions (`fn/…`) whose progress the test controls through named gates, and
 * clients generated from the OpenAPI document (`openapi-fetch` over `test/api/schema.ts`).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpServer from "@effect/platform/HttpServer"
import { FnProvider } from "@gleitzeit/providers"
import { ApiConfig, ApiKeys, ApiServer, Embedded, WorkflowRegistry } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import createClient from "openapi-fetch"
import type { paths } from "../api/schema.js"

/** Named gates the test functions wait on; the test opens them. */
export class Gates {
  private readonly gates = new Map<string, { promise: Promise<void>; open: () => void }>()
  private entry(name: string) {
    let gate = this.gates.get(name)
    if (gate === undefined) {
      let open!: () => void
      const promise = new Promise<void>((resolve) => (open = resolve))
      gate = { promise, open }
      this.gates.set(name, gate)
    }
    return gate
  }
  /** Waits until `name` is open. */
  wait(name: string): Promise<void> {
    return this.entry(name).promise
  }
  /** Opens `name`. */
  open(name: string): void {
    this.entry(name).open()
  }
}

/**
 * The test functions: `fn/wait {gate, value}` returns `value` once `gate` is open; `fn/chunks {before, after,
 * gate}` emits `before` tokens, waits for `gate`, emits `after` more and returns how many it emitted.
 */
export const functions = (gates: Gates): ReadonlyArray<FnProvider.Definition> => [
  FnProvider.make(
    "wait",
    (params) => Effect.as(Effect.promise(() => gates.wait(params.gate)), params.value ?? params.gate),
    { params: Schema.Struct({ gate: Schema.String, value: Schema.optional(Schema.String) }) }
  ),
  FnProvider.make(
    "chunks",
    (params, ctx) =>
      Effect.gen(function*() {
        for (let i = 1; i <= params.before; i++) yield* ctx.emit("token", `t${i} `)
        yield* Effect.promise(() => gates.wait(params.gate))
        for (let i = params.before + 1; i <= params.before + params.after; i++) yield* ctx.emit("token", `t${i} `)
        return params.before + params.after
      }),
    { params: Schema.Struct({ before: Schema.Int, after: Schema.Int, gate: Schema.String }) }
  )
]

/** A running API server. */
export interface TestApi {
  readonly url: string
  readonly gates: Gates
  /** A client generated from the OpenAPI document, sending `key` (when given) as a bearer token. */
  readonly client: (key?: string) => ReturnType<typeof createClient<paths>>
  /** Runs an effect with the server's services (engine, journal…). */
  readonly runtime: ManagedRuntime.ManagedRuntime<any, any>
  readonly close: () => Promise<void>
}

/** Options of a test server. */
export interface Options {
  /** The SQLite journal (default: a new file in a temporary directory). */
  readonly filename?: string
  readonly settings?: Partial<ApiConfig.Settings>
  readonly gates?: Gates
}

/** A fresh temporary directory. */
export const tempDir = (): { readonly dir: string; readonly cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "gleitzeit-api-test-"))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Creates a key for a test: the key and the configuration entry. */
export const makeKey = (name: string, scopes: ReadonlyArray<"read" | "submit" | "admin">) =>
  Effect.runSync(ApiKeys.generate(name, scopes))

/** A client of the API at `url`, sending `key` (when given) as a bearer token. */
export const clientOf = (url: string, key?: string) =>
  createClient<paths>({ baseUrl: url, ...(key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }) })

/** Starts the server on a free port of 127.0.0.1. */
export const startApi = async (options: Options = {}): Promise<TestApi> => {
  const gates = options.gates ?? new Gates()
  const scratch = options.filename === undefined ? tempDir() : undefined
  const filename = options.filename ?? join(scratch!.dir, "journal.db")
  const settings = { host: "127.0.0.1", port: 0, ...options.settings }
  const layer = ApiServer.layer.pipe(
    Layer.provideMerge(WorkflowRegistry.layer(settings.workflows)),
    Layer.provideMerge(Embedded.layer({ filename, functions: functions(gates) })),
    Layer.provideMerge(ApiConfig.ApiConfig.layer(settings)),
    Layer.provideMerge(NodeContext.layer)
  )
  const runtime = ManagedRuntime.make(layer)
  const server = await runtime.runPromise(HttpServer.HttpServer)
  const address = server.address
  if (address._tag !== "TcpAddress") throw new Error("the API server is not on TCP")
  const url = `http://127.0.0.1:${address.port}`
  return {
    url,
    gates,
    client: (key) => clientOf(url, key),
    runtime,
    close: async () => {
      await runtime.dispose()
      scratch?.cleanup()
    }
  }
}

/** One Server-Sent Event. */
export interface Sse {
  readonly id: string | undefined
  readonly event: string | undefined
  readonly data: string
}

/**
 * Reads an event stream: calls `onEvent` for each event until it returns false (the connection is then aborted
 * through `controller`, as a client that goes away) or the stream ends. Resolves with the events read.
 */
export const readEvents = async (
  response: Response,
  controller: AbortController,
  onEvent: (event: Sse) => boolean = () => true
): Promise<{ readonly events: ReadonlyArray<Sse>; readonly ended: boolean }> => {
  const events: Array<Sse> = []
  if (response.body === null) return { events, ended: true }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { events, ended: true }
    buffer += value
    let end: number
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const fields = new Map<string, string>()
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue
        const colon = line.indexOf(":")
        if (colon < 0) continue
        fields.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ""))
      }
      if (!fields.has("data")) continue
      const event = { id: fields.get("id"), event: fields.get("event"), data: fields.get("data")! }
      events.push(event)
      if (!onEvent(event)) {
        controller.abort()
        await reader.cancel().catch(() => undefined)
        return { events, ended: false }
      }
    }
  }
}
