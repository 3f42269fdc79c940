/**
 * Keys, scopes and limits of the HTTP API: 401, 403 (scope, a workflow's providers block), 413, 429, idempotent
 * resubmission, who submitted and cancelled a run, CORS, and refusing to listen beyond loopback without a key.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { LlmConfig } from "@gleitzeit/providers"
import { ApiConfig, ApiKeys, ApiServer, Embedded, WorkflowRegistry } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeKey, startApi, tempDir, type TestApi } from "../support/api.js"

const flow = (name: string, gate: string) =>
  `name: ${name}\ntasks:\n  - id: a\n    method: fn/wait\n    params: { gate: ${gate} }\n`

const yaml = (text: string) => ({
  body: text as never,
  bodySerializer: (body: unknown) => body as string,
  headers: { "content-type": "application/yaml" }
})

describe("API keys", () => {
  it("authenticates a key among several by its hash, and nothing else", () => {
    const keys = ["a", "b", "c"].map((name) => makeKey(name, ["read"]))
    const entries = keys.map((k) => k.entry)
    expect(keys[1]!.key).toMatch(/^gzk_[\w-]{43}$/)
    expect(keys[1]!.entry.hash).toBe(ApiKeys.hash(keys[1]!.key))
    expect(keys[1]!.entry.hash).not.toContain(keys[1]!.key)
    expect(Option.map(ApiKeys.authenticate(entries, keys[1]!.key), (k) => k.name)).toEqual(Option.some("b"))
    for (const wrong of ["", keys[1]!.key.slice(0, -1), `${keys[1]!.key}x`, keys[1]!.entry.hash]) {
      expect(Option.isNone(ApiKeys.authenticate(entries, wrong))).toBe(true)
    }
    expect(new Set(keys.map((k) => k.key)).size).toBe(3)
  })
})

describe("the HTTP API with keys", () => {
  const reader = makeKey("dashboard", ["read"])
  const submitter = makeKey("ci", ["submit"])
  const operator = makeKey("ops", ["submit"])
  const admin = makeKey("root", ["admin"])
  const limited = makeKey("tight", ["read"])
  let api: TestApi
  const scratch = tempDir()
  const filename = join(scratch.dir, "journal.db")
  beforeAll(async () => {
    api = await startApi({
      filename,
      settings: {
        keys: [reader.entry, submitter.entry, operator.entry, admin.entry, limited.entry],
        requestsPerMinute: 120,
        maxBodyBytes: 64 * 1024,
        providers: {
          llm: {
            ...LlmConfig.LlmConfig.defaults,
            endpoints: [{
              name: "local",
              type: "ollama",
              url: "http://127.0.0.1:11434",
              weight: 1,
              priority: 0,
              tags: []
            }]
          },
          mcp: []
        }
      }
    })
  })
  afterAll(async () => {
    await api?.close()
    scratch.cleanup()
  })

  it("refuses requests without a key, with an unknown key and with a malformed header (401)", async () => {
    for (const headers of [{}, { authorization: "Bearer gzk_unknown" }, { authorization: `Basic ${reader.key}` }]) {
      const response = await fetch(`${api.url}/v1/runs`, { headers })
      expect(response.status).toBe(401)
      expect(response.headers.get("www-authenticate")).toBe(`Bearer realm="gleitzeit"`)
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      expect(await response.json()).toMatchObject({ _tag: "Unauthorized", code: -31005, retryable: false })
    }
    expect((await api.client().GET("/healthz")).response.status).toBe(200)
  })

  it("lets a read key look but not submit (403 naming the scope)", async () => {
    const client = api.client(reader.key)
    expect((await client.GET("/v1/runs")).response.status).toBe(200)
    const refused = await client.POST("/v1/runs", yaml(flow("nope", "g")))
    expect(refused.response.status).toBe(403)
    expect(refused.error).toMatchObject({ _tag: "MissingScope", scope: "submit", key: "dashboard", code: -31006 })
  })

  it("journals and shows who submitted and who cancelled a run, by key name and never the key", async () => {
    const submitted = await api.client(submitter.key).POST("/v1/runs", yaml(flow("watched", "watched-gate")))
    expect(submitted.data).toMatchObject({ submittedBy: "ci" })
    const runId = submitted.data!.runId
    const cancelled = await api.client(operator.key).POST("/v1/runs/{runId}/cancel", {
      params: { path: { runId } },
      body: null
    })
    expect(cancelled.data).toMatchObject({
      status: "cancelled",
      error: { message: "cancelled through the API by 'ops'" }
    })
    const run = await api.client(reader.key).GET("/v1/runs/{runId}", { params: { path: { runId } } })
    expect(run.data).toMatchObject({ submittedBy: "ci", cancelledBy: "ops" })
    const listed = await api.client(reader.key).GET("/v1/runs", { params: { query: { workflow: "watched" } } })
    expect(listed.data?.runs[0]).toMatchObject({ id: runId, submittedBy: "ci" })
    const events = await api.client(reader.key).GET("/v1/runs/{runId}/events", {
      params: { path: { runId }, query: { follow: "false" } },
      parseAs: "text"
    })
    expect(events.data).toMatch(/"_tag":"RunSubmitted".*"submittedBy":"ci"/)
    expect(events.data).toMatch(/"_tag":"RunCancelled".*"by":"ops"/)
    const journal = readFileSync(filename).toString("latin1") + readFileSync(`${filename}-wal`).toString("latin1")
    for (const key of [submitter.key, operator.key]) expect(journal).not.toContain(key)
  })

  it("refuses a workflow's providers block that would start a process or add an endpoint (403 naming each entry)", async () => {
    const starts =
      `name: sneaky\nproviders:\n  mcp:\n    servers:\n      evil: { command: touch, args: [/tmp/pwned] }\n` +
      `tasks:\n  - id: a\n    method: fn/wait\n    params: { gate: g }\n`
    for (const client of [api.client(submitter.key), api.client(admin.key)]) {
      const refused = await client.POST("/v1/runs", yaml(starts))
      expect(refused.response.status).toBe(403)
      expect(refused.error).toMatchObject({
        _tag: "ProvidersNotAllowed",
        block: "providers",
        issues: [{ path: "providers.mcp.servers.evil.command", line: 5, column: 24 }]
      })
    }
    const adds = await api.client(submitter.key).POST("/v1/workflows/validate", {
      body: {
        workflow: {
          name: "doc",
          providers: { ollama: { instances: [{ id: "remote", url: "http://10.0.0.1:11434" }] } },
          tasks: []
        }
      }
    })
    expect(adds.response.status).toBe(403)
    expect(adds.error).toMatchObject({
      _tag: "ProvidersNotAllowed",
      issues: [{ path: "providers.ollama.instances[0].url" }]
    })
    const runs = await api.client(reader.key).GET("/v1/runs", { params: { query: { workflow: "sneaky" } } })
    expect(runs.data?.runs).toEqual([])
    // Selecting and tuning configured providers is not refused; the server says it does not apply it.
    const selects = await api.client(submitter.key).POST(
      "/v1/workflows/validate",
      yaml(
        `name: picky\nproviders:\n  ollama:\n    instances: [{ id: local }]\n    load_balancing: { strategy: round_robin }\n` +
          `tasks:\n  - id: a\n    method: fn/wait\n    params: { gate: g }\n`
      )
    )
    expect(selects.response.status).toBe(200)
    expect(selects.data?.warnings).toMatchObject([{ path: "providers", line: 3 }])
  })

  it("refuses a path param outside the configured roots, at its position, and submits nothing", async () => {
    const outside = await api.client(submitter.key).POST(
      "/v1/runs",
      yaml(
        "name: snoop\ntasks:\n  - id: read\n    method: python/execute\n    params: { file: /etc/passwd }\n"
      )
    )
    expect(outside.response.status).toBe(422)
    expect(outside.error).toMatchObject({
      _tag: "WorkflowValidationError",
      issues: [{ path: "tasks[0].params.file", line: 5, column: 21 }]
    })
    const runs = await api.client(reader.key).GET("/v1/runs", { params: { query: { workflow: "snoop" } } })
    expect(runs.data?.runs).toEqual([])
  })

  it("refuses a body over the size limit (413), whether its length is declared or not, and reads a chunked one within it", async () => {
    const big = `name: big\ndescription: "${"x".repeat(70 * 1024)}"\ntasks: []\n`
    const declared = await fetch(`${api.url}/v1/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${submitter.key}`, "content-type": "application/yaml" },
      body: big
    })
    expect(declared.status).toBe(413)
    expect(await declared.json()).toMatchObject({ _tag: "PayloadTooLarge", limitBytes: 64 * 1024 })
    // Without a declared length (chunked), the server stops reading at the limit and answers at once.
    const sendChunked = (text: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(`${api.url}/v1/runs`, {
          method: "POST",
          headers: { authorization: `Bearer ${submitter.key}`, "content-type": "application/yaml" }
        }, (response) => {
          let body = ""
          response.on("data", (chunk: Buffer) => (body += chunk.toString()))
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
        })
        request.on("error", reject)
        for (let i = 0; i < text.length; i += 8192) request.write(text.slice(i, i + 8192))
        request.end()
      })
    const chunked = await sendChunked(big)
    expect(chunked.status).toBe(413)
    expect(JSON.parse(chunked.body)).toMatchObject({ _tag: "PayloadTooLarge" })
    const small = await sendChunked(`${flow("chunked", "chunked-gate")}description: "${"y".repeat(20_000)}"\n`)
    expect(small.status).toBe(201)
    expect(JSON.parse(small.body)).toMatchObject({ name: "chunked" })
  })

  it("returns the same run for a repeated Idempotency-Key, and refuses the key for a different workflow", async () => {
    api.gates.open("idem-gate")
    const client = api.client(submitter.key)
    const send = (text: string, key: string) =>
      client.POST("/v1/runs", { ...yaml(text), params: { header: { "idempotency-key": key } } })
    const first = await send(flow("idem", "idem-gate"), "order-42")
    const again = await send(flow("idem", "idem-gate"), "order-42")
    expect(first.response.status).toBe(201)
    expect(again.response.status).toBe(201)
    expect(again.data).toMatchObject({ runId: first.data!.runId, replayed: true })
    expect(first.data?.replayed).toBe(false)
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => send(flow("idem", "idem-gate"), "order-43")))
    expect(new Set(concurrent.map((r) => r.data?.runId)).size).toBe(1)
    expect(concurrent.filter((r) => r.data?.replayed === false)).toHaveLength(1)
    const other = await send(flow("other", "idem-gate"), "order-42")
    expect(other.response.status).toBe(422)
    expect(other.error).toMatchObject({ _tag: "IdempotencyKeyReused", runId: first.data!.runId })
    const otherKey = await api.client(operator.key).POST("/v1/runs", {
      ...yaml(flow("idem", "idem-gate")),
      params: { header: { "idempotency-key": "order-42" } }
    })
    expect(otherKey.data?.runId).not.toBe(first.data!.runId)
    const runs = await api.client(reader.key).GET("/v1/runs", { params: { query: { workflow: "idem" } } })
    expect(runs.data?.runs).toHaveLength(3)
  })
})

describe("the HTTP API's rate limit", () => {
  it("answers 429 with Retry-After once a key used up its budget, without slowing other keys", async () => {
    const busy = makeKey("busy", ["read"])
    const calm = makeKey("calm", ["read"])
    const api = await startApi({ settings: { keys: [busy.entry, calm.entry], requestsPerMinute: 3 } })
    try {
      const statuses: Array<number> = []
      for (let i = 0; i < 4; i++) statuses.push((await api.client(busy.key).GET("/v1/runs")).response.status)
      expect(statuses).toEqual([200, 200, 200, 429])
      const limited = await fetch(`${api.url}/v1/runs`, { headers: { authorization: `Bearer ${busy.key}` } })
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
      expect(await limited.json()).toMatchObject({ _tag: "RateLimited", retryable: true, code: -31004 })
      expect((await api.client(calm.key).GET("/v1/runs")).response.status).toBe(200)
    } finally {
      await api.close()
    }
  })
})

describe("the HTTP API's listening address", () => {
  it("refuses to listen beyond loopback without a key, before listening", async () => {
    const layer = ApiServer.layer.pipe(
      Layer.provide(WorkflowRegistry.layer(undefined)),
      Layer.provide(Embedded.layer({ filename: ":memory:" })),
      Layer.provide(ApiConfig.ApiConfig.layer({ host: "0.0.0.0", port: 0 })),
      Layer.provide(NodeContext.layer)
    )
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(layer)))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain(
      "refusing to serve the API on 0.0.0.0 without a key"
    )
  })
})

describe("the HTTP API's CORS", () => {
  const preflight = (url: string) =>
    fetch(`${url}/v1/runs`, {
      method: "OPTIONS",
      headers: { origin: "http://dashboard.test", "access-control-request-method": "GET" }
    })

  it("is off unless configured", async () => {
    const api = await startApi()
    try {
      const response = await preflight(api.url)
      expect(response.headers.get("access-control-allow-origin")).toBeNull()
      const get = await fetch(`${api.url}/v1/runs`, { headers: { origin: "http://dashboard.test" } })
      expect(get.headers.get("access-control-allow-origin")).toBeNull()
    } finally {
      await api.close()
    }
  })

  it("allows the configured origins", async () => {
    const api = await startApi({ settings: { corsOrigins: ["http://dashboard.test"] } })
    try {
      const response = await preflight(api.url)
      expect(response.headers.get("access-control-allow-origin")).toBe("http://dashboard.test")
      const other = await fetch(`${api.url}/v1/runs`, {
        method: "OPTIONS",
        headers: { origin: "http://evil.test", "access-control-request-method": "GET" }
      })
      expect(other.headers.get("access-control-allow-origin")).not.toBe("http://evil.test")
    } finally {
      await api.close()
    }
  })
})
