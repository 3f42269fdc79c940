/**
 * Settings of the HTTP API server: where it listens, its keys and limits, and where registered workflows live.
 * Read from the `api` section of `gleitzeit.yaml` (and `GLEITZEIT_API_*`) by the CLI; the library passes them.
 */
import { LlmConfig, type WorkflowProviders } from "@gleitzeit/providers"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ApiKeys from "./ApiKeys.js"

/** The API server's settings. */
export interface Settings {
  /** The address to listen on; anything but loopback needs at least one key. */
  readonly host: string
  /** The port (0: any free one). */
  readonly port: number
  /** The accepted keys (hashes, names, scopes). None: every request is served without a key (loopback only). */
  readonly keys: ReadonlyArray<ApiKeys.Key>
  /** Requests per minute per key (a token bucket of that size, refilled evenly); 0: unlimited. */
  readonly requestsPerMinute: number
  /** Largest request body in bytes. */
  readonly maxBodyBytes: number
  /** Longest time a request (other than event streams and long polls) may take, in milliseconds. */
  readonly requestTimeoutMs: number
  /** Longest long poll for a result, in seconds. */
  readonly maxWaitSeconds: number
  /** Seconds between keep-alive comments on an idle event stream. */
  readonly heartbeatSeconds: number
  /** Origins allowed to call the API from a browser (CORS); none: CORS is off. */
  readonly corsOrigins: ReadonlyArray<string>
  /**
   * The providers the configuration declares, which a submitted workflow's own `providers:` block is decided against
   * (`WorkflowProviders.decide`): it may select and tune them, never start a process or add an endpoint.
   */
  readonly providers: WorkflowProviders.Configured
  /** The directory of registered workflows (run by name), reloaded on change; none by default. */
  readonly workflows: string | undefined
}

/** The defaults: loopback, port 8765, no keys, 600 requests per minute per key, 4 MiB bodies, 30 s requests. */
export const defaults: Settings = {
  host: "127.0.0.1",
  port: 8765,
  keys: [],
  requestsPerMinute: 600,
  maxBodyBytes: 4 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  maxWaitSeconds: 60,
  heartbeatSeconds: 15,
  corsOrigins: [],
  providers: { llm: LlmConfig.LlmConfig.defaults, mcp: [] },
  workflows: undefined
}

/** The API server's settings as a service. */
export class ApiConfig extends Context.Tag("@gleitzeit/runtime/ApiConfig")<ApiConfig, Settings>() {
  /** The settings: the defaults, overridden by `settings`. */
  static readonly layer = (settings: Partial<Settings> = {}) => Layer.succeed(ApiConfig, { ...defaults, ...settings })
}

/** The settings would expose the API: it is refused before anything listens. */
export class UnsafeListen extends Data.TaggedError("UnsafeListen")<{ readonly message: string }> {}

/** True when the address only reaches this machine. */
export const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)

/** Refuses to serve anything but loopback without a key. */
export const check = (settings: Settings): Effect.Effect<Settings, UnsafeListen> =>
  !isLoopback(settings.host) && settings.keys.length === 0
    ? Effect.fail(
      new UnsafeListen({
        message: `refusing to serve the API on ${settings.host} without a key: anyone who reaches it could run ` +
          "workflows. Create one with `gleitzeit keys create NAME --scope submit`, or listen on 127.0.0.1"
      })
    )
    : Effect.succeed(settings)
