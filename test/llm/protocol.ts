/**
 * The test-only control protocol of the LLM test server (`/__test/*`), shared by the server and `launch.ts`.
 *
 * - `GET /__test/stats` → {@link Stats}
 * - `POST /__test/faults` with a {@link FaultSpec} → `{ id }`; `DELETE /__test/faults` clears them all
 * - `POST /__test/reset` clears the stats and the faults
 */

/** A fault the server injects into the next matching requests. */
export interface FaultSpec {
  /** Only requests whose path starts with this (e.g. `/api/chat`, `/v1`); all API paths when absent. */
  readonly path?: string
  /** Only requests for this model (`tiny-chat` and `tiny-chat:latest` are the same); any request when absent. */
  readonly model?: string
  /** How many requests it applies to (default 1); `-1` until cleared. */
  readonly count?: number
  /** Wait this long before answering (or before failing, with `status`). */
  readonly delayMs?: number
  /** Answer with this HTTP status (e.g. 429, 500, 503) and an error body in the endpoint's wire format. */
  readonly status?: number
  /** The error message (defaults to one derived from the status). */
  readonly error?: string
  /** Value of the `Retry-After` header (seconds, or an HTTP date) sent with `status`. */
  readonly retryAfter?: number | string
  /** Stream normally, then after this many content chunks send an in-band error (HTTP 200) and end the response. */
  readonly afterChunks?: number
  /** Destroy the connection without any response. */
  readonly drop?: boolean
}

/** One request whose client closed the connection before the response ended. */
export interface AbortRecord {
  readonly endpoint: string
  readonly model: string | null
  readonly streaming: boolean
  /** Tokens generated for it before the generation stopped. */
  readonly completionTokens: number
}

/** What the server has seen since it started (or since the last reset). */
export interface Stats {
  /** Requests outside `/__test`, all statuses included. */
  readonly total: number
  /** Requests by `"METHOD /path"`, e.g. `"POST /api/chat"`. */
  readonly requests: Readonly<Record<string, number>>
  /** Requests by resolved model name (`tiny-chat:latest`). */
  readonly models: Readonly<Record<string, number>>
  /** Responses by HTTP status. */
  readonly statuses: Readonly<Record<string, number>>
  /** Requests not finished yet. */
  readonly inFlight: number
  /** Generations running right now. */
  readonly activeGenerations: number
  /** Requests whose client closed the socket before the response ended (their generation was stopped). */
  readonly aborted: number
  readonly aborts: ReadonlyArray<AbortRecord>
  /** Faults applied (each matching request counts once). */
  readonly faultsTriggered: number
  /** Tokens evaluated and generated over all requests. */
  readonly tokens: { readonly prompt: number; readonly completion: number }
}
