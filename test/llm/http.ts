/**
 * One HTTP exchange of the LLM test server: body decoding, model resolution (with faults), JSON answers, streams
 * (Ollama NDJSON or OpenAI SSE), errors in each wire format, and the client-abort signal.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { setTimeout as sleep } from "node:timers/promises"
import { canonicalName, type Engine, type GenerateOptions, type Generation, type Model, type Prompt } from "./engine.js"
import type { Hooks } from "./hooks.js"
import type { FaultSpec } from "./protocol.js"

/** A JSON object from a request body. */
export type Json = { readonly [key: string]: unknown }

/** A failure answered with `status` and an error body in the endpoint's wire format. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message)
  }
}

/** Which API an endpoint belongs to; decides error bodies and stream framing. */
export type Wire = "ollama" | "openai"

const statusMessages: Readonly<Record<number, string>> = {
  429: "rate limit exceeded",
  500: "internal server error",
  502: "bad gateway",
  503: "service unavailable",
  504: "gateway timeout"
}

/** Whether a value is a JSON object. */
export const isJson = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The JSON types `field` reads. */
export interface FieldKinds {
  readonly string: string
  readonly number: number
  readonly boolean: boolean
  readonly object: Json
  readonly array: ReadonlyArray<unknown>
}

/** Reads an optional field of a given JSON type, answering 400 when it has another type. */
export const field = <K extends keyof FieldKinds>(body: Json, key: string, kind: K): FieldKinds[K] | undefined => {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  const ok = kind === "array" ? Array.isArray(value) : kind === "object" ? isJson(value) : typeof value === kind
  if (!ok) throw new HttpError(400, `invalid value for "${key}": expected ${kind}`)
  return value as never
}

/** The state of one request, shared by the router and the endpoint handlers. */
export class Exchange {
  readonly controller = new AbortController()
  readonly endpoint: string
  modelName: string | null = null
  streaming = false
  completionTokens = 0
  clientAborted = false
  private midstreamAfter: number | undefined
  private midstreamMessage = "test fault: the generation failed mid-stream"
  private chunks = 0
  private failed = false
  dropped = false

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly path: string,
    readonly wire: Wire,
    readonly engine: Engine,
    readonly hooks: Hooks
  ) {
    this.endpoint = `${req.method} ${path}`
    res.on("close", () => {
      if (res.writableFinished || this.failed || this.dropped) return
      this.clientAborted = true
      this.controller.abort()
    })
  }

  /** Aborted when the client closes its connection before the response ended. */
  get signal() {
    return this.controller.signal
  }

  /** Whether the response is over (sent, failed mid-stream or abandoned by the client). */
  get ended() {
    return this.res.writableEnded || this.res.destroyed
  }

  /** Reads the request body as a JSON object. */
  async body(): Promise<Json> {
    const chunks: Array<Buffer> = []
    for await (const chunk of this.req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString("utf8")
    let value: unknown
    try {
      value = text.trim() === "" ? {} : JSON.parse(text)
    } catch (cause) {
      throw new HttpError(400, `invalid JSON body: ${(cause as Error).message}`)
    }
    if (!isJson(value)) throw new HttpError(400, "the request body must be a JSON object")
    return value
  }

  /** Finds the requested model (400 when missing, 404 when unknown) and applies faults aimed at it. */
  async model(name: unknown): Promise<Model> {
    if (typeof name !== "string" || name === "") throw new HttpError(400, "model is required")
    const model = this.engine.models.get(canonicalName(name))
    if (model === undefined) throw new HttpError(404, `model "${name}" not found, try pulling it first`)
    this.modelName = model.name
    this.hooks.useModel(model.name)
    const fault = this.hooks.takeFault(this.path, model.name, (a, b) => canonicalName(a) === canonicalName(b))
    if (fault !== undefined) await this.applyFault(fault)
    if (model.failsMidstream && this.midstreamAfter === undefined) this.midstreamAfter = 3
    return model
  }

  /** Applies a fault: delay, dropped connection, error status, or an in-band error later in the stream. */
  async applyFault(fault: FaultSpec) {
    if (fault.delayMs !== undefined) await sleep(fault.delayMs, undefined, { signal: this.signal }).catch(() => {})
    if (this.signal.aborted) throw new HttpError(499, "the client closed the connection")
    if (fault.drop === true) {
      this.dropped = true
      this.req.socket.destroy()
      throw new HttpError(0, "dropped")
    }
    if (fault.status !== undefined) {
      const headers: Record<string, string> = fault.retryAfter === undefined
        ? {}
        : { "retry-after": String(fault.retryAfter) }
      const message = fault.error ?? statusMessages[fault.status] ?? `test fault ${fault.status}`
      throw new HttpError(fault.status, message, headers)
    }
    if (fault.afterChunks !== undefined) {
      this.midstreamAfter = fault.afterChunks
      if (fault.error !== undefined) this.midstreamMessage = fault.error
    }
  }

  /** Runs a generation for this request; text chunks go to `onChunk` until a mid-stream fault ends the stream. */
  async generate(
    model: Model,
    prompt: Prompt,
    options: Omit<GenerateOptions, "signal" | "onText">,
    onChunk: (text: string) => void
  ): Promise<Generation> {
    if (this.midstreamAfter !== undefined && !this.streaming) throw new HttpError(500, this.midstreamMessage)
    // A fault that fails after N chunks must see N chunks: no early end-of-generation, enough tokens.
    const failing = this.midstreamAfter === undefined
      ? {}
      : { ignoreEos: true, maxTokens: Math.max(options.maxTokens, this.midstreamAfter + 1) }
    const generation = await this.hooks.generation(() =>
      model.generate(prompt, {
        ...options,
        ...failing,
        signal: this.signal,
        onText: (text) => {
          if (text === "" || this.ended) return
          onChunk(text)
          this.chunks++
          if (this.midstreamAfter !== undefined && this.chunks >= this.midstreamAfter) this.failMidstream()
        }
      })
    )
    this.completionTokens = generation.completionTokens
    if (this.midstreamAfter !== undefined && !this.ended) this.failMidstream()
    return generation
  }

  /** Sends a JSON response. */
  json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) {
    if (this.ended) return
    const text = JSON.stringify(body)
    this.res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...headers
    })
    this.res.end(text)
  }

  /** Starts a streamed 200 response: NDJSON for Ollama, server-sent events for OpenAI. */
  startStream() {
    this.streaming = true
    this.res.writeHead(200, {
      "content-type": this.wire === "ollama" ? "application/x-ndjson" : "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no"
    })
    this.res.flushHeaders()
  }

  /** Writes one stream event (an NDJSON line or an SSE `data:` event), flushed at once. */
  event(value: unknown) {
    if (this.ended) return
    const text = JSON.stringify(value)
    this.res.write(this.wire === "ollama" ? `${text}\n` : `data: ${text}\n\n`)
  }

  /** Ends a stream (with `data: [DONE]` for SSE). */
  endStream() {
    if (this.ended) return
    this.res.end(this.wire === "openai" ? "data: [DONE]\n\n" : undefined)
  }

  /** Answers with an error: a JSON error response, or an in-band error when a stream has started. */
  fail(error: HttpError) {
    if (this.ended || this.dropped) return
    if (this.res.headersSent) {
      this.event(this.errorBody(error.status, error.message))
      this.res.end()
      return
    }
    this.json(error.status, this.errorBody(error.status, error.message), error.headers)
  }

  /** The status the response was (or will be) sent with, for the statistics. */
  get status() {
    return this.dropped ? 0 : this.res.statusCode
  }

  private failMidstream() {
    this.failed = true
    this.event(this.errorBody(500, this.midstreamMessage))
    this.res.end()
    this.controller.abort()
  }

  private errorBody(status: number, message: string) {
    if (this.wire === "ollama") return { error: message }
    const type = status === 429
      ? "rate_limit_error"
      : status >= 500
      ? "server_error"
      : "invalid_request_error"
    const code = status === 404 ? "model_not_found" : status === 429 ? "rate_limit_exceeded" : null
    return { error: { message, type, param: null, code } }
  }
}
