/**
 * Every route of the HTTP API, driven by the client generated from its OpenAPI document (openapi-fetch over
 * test/api/schema.ts), against the real server over an embedded engine on a SQLite file.
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readEvents, startApi, tempDir, type TestApi } from "../support/api.js"

const waitFlow = (name: string, gate: string, value = "done") =>
  `name: ${name}
tasks:
  - id: a
    method: fn/wait
    params: { gate: ${gate}, value: ${value} }
outputs:
  answer: "\${a.result}"
`

const yaml = (text: string) => ({
  body: text as never,
  bodySerializer: (body: unknown) => body as string,
  headers: { "content-type": "application/yaml" }
})

describe("the HTTP API", () => {
  let api: TestApi
  const workflows = tempDir()
  beforeAll(async () => {
    writeFileSync(join(workflows.dir, "greet.yaml"), waitFlow("greeting", "registered-gate", "hello"))
    writeFileSync(join(workflows.dir, "broken.yaml"), "name: broken\ntasks:\n  - id: x\n    method: fn/nope\n")
    api = await startApi({ settings: { workflows: workflows.dir } })
  })
  afterAll(async () => {
    await api?.close()
    workflows.cleanup()
  })

  it("submits a workflow sent as YAML and answers the long poll with the run's outputs", async () => {
    const client = api.client()
    api.gates.open("yaml-gate")
    const submitted = await client.POST("/v1/runs", yaml(waitFlow("yaml-run", "yaml-gate", "from-yaml")))
    expect(submitted.response.status).toBe(201)
    expect(submitted.data).toMatchObject({ name: "yaml-run", replayed: false })
    const result = await client.GET("/v1/runs/{runId}/result", {
      params: { path: { runId: submitted.data!.runId }, query: { timeout: 20 } }
    })
    expect(result.data).toEqual({
      runId: submitted.data!.runId,
      status: "completed",
      done: true,
      outputs: { answer: "from-yaml" }
    })
  })

  it("submits a workflow sent as a JSON document and as JSON text", async () => {
    const client = api.client()
    api.gates.open("json-gate")
    const document = await client.POST("/v1/runs", {
      body: {
        workflow: {
          name: "json-doc",
          tasks: [{ id: "a", method: "fn/wait", params: { gate: "json-gate", value: "doc" } }],
          outputs: { answer: "${a.result}" }
        }
      }
    })
    const text = await client.POST("/v1/runs", { body: { workflow: waitFlow("json-text", "json-gate", "text") } })
    for (const [submitted, expected] of [[document, "doc"], [text, "text"]] as const) {
      expect(submitted.response.status).toBe(201)
      const result = await client.GET("/v1/runs/{runId}/result", {
        params: { path: { runId: submitted.data!.runId }, query: { timeout: 20 } }
      })
      expect(result.data?.outputs).toEqual({ answer: expected })
    }
  })

  it("runs a registered workflow by name and lists the registered workflows with their inputs", async () => {
    const client = api.client()
    const list = await client.GET("/v1/workflows")
    expect(list.data?.workflows.map((w) => [w.name, w.file, w.taskCount, w.issues === undefined])).toEqual([
      ["broken", "broken.yaml", 0, false],
      ["greet", "greet.yaml", 1, true]
    ])
    expect(list.data?.workflows[1]?.inputs).toEqual({ type: "object", properties: {}, additionalProperties: false })
    const one = await client.GET("/v1/workflows/{name}", { params: { path: { name: "broken" } } })
    expect(one.data?.issues?.[0]).toMatchObject({ path: "tasks[0].method", line: 4, column: 13 })

    api.gates.open("registered-gate")
    const submitted = await client.POST("/v1/runs", { body: { name: "greet" } })
    expect(submitted.response.status).toBe(201)
    expect(submitted.data?.name).toBe("greeting")
    const result = await client.GET("/v1/runs/{runId}/result", {
      params: { path: { runId: submitted.data!.runId }, query: { timeout: 20 } }
    })
    expect(result.data?.outputs).toEqual({ answer: "hello" })

    const unknown = await client.POST("/v1/runs", { body: { name: "nope" } })
    expect(unknown.response.status).toBe(404)
    expect(unknown.error).toMatchObject({ _tag: "WorkflowNotRegistered", name: "nope" })
    const broken = await client.POST("/v1/runs", { body: { name: "broken" } })
    expect(broken.response.status).toBe(422)
    expect(broken.error).toMatchObject({ _tag: "WorkflowValidationError" })
    const withInput = await client.POST("/v1/runs", { body: { name: "greet", inputs: { who: "you" } } })
    expect(withInput.response.status).toBe(422)
    expect(withInput.error).toMatchObject({ issues: [{ path: "inputs.who" }] })
  })

  it("reloads the workflows directory when a file is added", async () => {
    const client = api.client()
    writeFileSync(join(workflows.dir, "later.yml"), waitFlow("later", "later-gate"))
    let names: ReadonlyArray<string> = []
    for (let i = 0; i < 100 && !names.includes("later"); i++) {
      names = (await client.GET("/v1/workflows")).data?.workflows.map((w) => w.name) ?? []
      if (!names.includes("later")) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(names).toContain("later")
  })

  it("validates a workflow: a plan when valid, every problem with line and column when not", async () => {
    const client = api.client()
    const valid = await client.POST("/v1/workflows/validate", yaml(waitFlow("v", "g")))
    expect(valid.data).toMatchObject({
      valid: true,
      name: "v",
      tasks: [{ id: "a", method: "fn/wait", dependencies: [] }]
    })

    const invalid = await client.POST(
      "/v1/workflows/validate",
      yaml(
        "name: bad\ntasks:\n  - id: a\n    method: fn/nope\n  - id: b\n    method: fn/wait\n    params: { gate: 1 }\n"
      )
    )
    expect(invalid.response.status).toBe(422)
    expect(invalid.response.headers.get("content-type")).toBe("application/problem+json")
    expect(invalid.error).toMatchObject({ _tag: "WorkflowValidationError", code: -28000, retryable: false })
    const issues = (invalid.error as { issues: ReadonlyArray<{ path: string; line?: number; column?: number }> }).issues
    expect(issues.map((i) => [i.path, i.line])).toEqual([["tasks[0].method", 4], ["tasks[1].params.gate", 7]])

    const unparsable = await client.POST("/v1/workflows/validate", yaml("name: x\ntasks: [\n"))
    expect(unparsable.response.status).toBe(400)
    expect(unparsable.error).toMatchObject({ _tag: "WorkflowParseError", code: -32700, line: 3 })
  })

  it("lists runs newest first, filtered by status and workflow and time, a page at a time", async () => {
    const client = api.client()
    api.gates.open("page-gate")
    const ids: Array<string> = []
    for (let i = 0; i < 5; i++) {
      const submitted = await client.POST("/v1/runs", yaml(waitFlow("paged", "page-gate")))
      ids.push(submitted.data!.runId)
      await client.GET("/v1/runs/{runId}/result", {
        params: { path: { runId: submitted.data!.runId }, query: { timeout: 20 } }
      })
    }
    const seen: Array<string> = []
    let cursor: string | undefined
    for (let page = 0; page < 5; page++) {
      const list = await client.GET("/v1/runs", {
        params: {
          query: { workflow: "paged", status: "completed", limit: 2, ...(cursor === undefined ? {} : { cursor }) }
        }
      })
      seen.push(...list.data!.runs.map((r) => r.id))
      cursor = list.data!.nextCursor
      if (cursor === undefined) break
    }
    expect(seen).toEqual([...ids].reverse())
    const future = await client.GET("/v1/runs", {
      params: { query: { since: new Date(Date.now() + 3_600_000).toISOString() } }
    })
    expect(future.data?.runs).toEqual([])
    const badTime = await client.GET("/v1/runs", { params: { query: { since: "yesterday" } } })
    expect(badTime.response.status).toBe(400)
    expect(badTime.error).toMatchObject({ _tag: "BadRequest" })
  })

  it("shows a run with its tasks, attempts and typed errors", async () => {
    const client = api.client()
    const submitted = await client.POST("/v1/runs", {
      body: {
        workflow: {
          name: "typed-error",
          tasks: [
            {
              id: "bad",
              method: "http/request",
              params: { url: "http://127.0.0.1:1/unreachable", method: "GET" },
              retry: { max_attempts: 1 }
            },
            { id: "after", method: "fn/wait", params: { gate: "never" }, dependencies: ["bad"] }
          ]
        }
      }
    })
    await client.GET("/v1/runs/{runId}/result", {
      params: { path: { runId: submitted.data!.runId }, query: { timeout: 30 } }
    })
    const run = await client.GET("/v1/runs/{runId}", { params: { path: { runId: submitted.data!.runId } } })
    expect(run.data).toMatchObject({ status: "failed", error: { taskId: "bad" } })
    const bad = run.data!.tasks.find((t) => t.id === "bad")!
    expect(bad).toMatchObject({
      status: "failed",
      error: { _tag: "ProviderError" },
      attempts: [{ attempt: 1, status: "failed" }]
    })
    expect(typeof (bad.error as { code: unknown }).code).toBe("number")
    expect(run.data!.tasks.find((t) => t.id === "after")).toMatchObject({ dependencies: ["bad"] })
    expect(run.data!.lastSeq).toBeGreaterThan(3)

    const missing = await client.GET("/v1/runs/{runId}", { params: { path: { runId: "no-such-run" } } })
    expect(missing.response.status).toBe(404)
    expect(missing.error).toEqual({
      _tag: "RunNotFound",
      type: "urn:gleitzeit:problem:RunNotFound",
      title: "Run not found",
      status: 404,
      detail: "no run 'no-such-run'",
      code: -28001,
      retryable: false,
      runId: "no-such-run"
    })
  })

  it("answers a long poll with done: false when the run outlives the time limit", async () => {
    const client = api.client()
    const submitted = await client.POST("/v1/runs", yaml(waitFlow("slow", "slow-gate")))
    const early = await client.GET("/v1/runs/{runId}/result", {
      params: { path: { runId: submitted.data!.runId }, query: { timeout: 0 } }
    })
    expect(early.data).toMatchObject({ done: false })
    expect(["pending", "running"]).toContain(early.data?.status)
    api.gates.open("slow-gate")
    const late = await client.GET("/v1/runs/{runId}/result", {
      params: { path: { runId: submitted.data!.runId }, query: { timeout: 20 } }
    })
    expect(late.data).toMatchObject({ done: true, status: "completed" })
  })

  it("cancels a running run, and refuses to cancel it twice", async () => {
    const client = api.client()
    const submitted = await client.POST("/v1/runs", yaml(waitFlow("to-cancel", "cancel-gate")))
    const runId = submitted.data!.runId
    const controller = new AbortController()
    const stream = await client.GET("/v1/runs/{runId}/events", {
      params: { path: { runId } },
      parseAs: "stream",
      signal: controller.signal
    })
    await readEvents(stream.response, controller, (e) => e.event !== "TaskStarted")
    const cancelled = await client.POST("/v1/runs/{runId}/cancel", {
      params: { path: { runId } },
      body: { reason: "not needed" }
    })
    expect(cancelled.data).toMatchObject({ runId, status: "cancelled", error: { message: "not needed" } })
    const again = await client.POST("/v1/runs/{runId}/cancel", { params: { path: { runId } }, body: null })
    expect(again.response.status).toBe(409)
    expect(again.error).toMatchObject({ _tag: "InvalidRunState", runStatus: "cancelled" })
    const resumed = await client.POST("/v1/runs/{runId}/resume", { params: { path: { runId } } })
    expect(resumed.response.status).toBe(409)
  })

  it("streams a run's events with live tokens, and a client that reconnects with Last-Event-ID misses nothing and gets nothing twice", async () => {
    const client = api.client()
    const submitted = await client.POST("/v1/runs", {
      body: {
        workflow: {
          name: "tokens",
          tasks: [{ id: "talk", method: "fn/chunks", params: { before: 10, after: 10, gate: "tokens-gate" } }]
        }
      }
    })
    const runId = submitted.data!.runId
    // First connection: read until the fifth token, then go away mid-run.
    let tokens = 0
    const first = new AbortController()
    const one = await client.GET("/v1/runs/{runId}/events", {
      params: { path: { runId } },
      parseAs: "stream",
      signal: first.signal
    })
    expect(one.response.headers.get("content-type")).toBe("text/event-stream")
    const part1 = await readEvents(one.response, first, (e) => !(e.event === "TaskOutput" && ++tokens === 5))
    expect(part1.ended).toBe(false)
    api.gates.open("tokens-gate")
    // Second connection: resume after the last event seen.
    const lastId = part1.events[part1.events.length - 1]!.id!
    const second = new AbortController()
    const two = await client.GET("/v1/runs/{runId}/events", {
      params: { path: { runId }, header: { "last-event-id": lastId } },
      parseAs: "stream",
      signal: second.signal
    })
    const part2 = await readEvents(two.response, second)
    expect(part2.ended).toBe(true)

    const ids = [...part1.events, ...part2.events].map((e) => Number(e.id))
    const journaled = await client.GET("/v1/runs/{runId}", { params: { path: { runId } } })
    expect(ids).toEqual(Array.from({ length: journaled.data!.lastSeq }, (_, i) => i + 1))
    const text = [...part1.events, ...part2.events]
      .filter((e) => e.event === "TaskOutput")
      .map((e) => (JSON.parse(e.data) as { text: string }).text)
      .join("")
    expect(text).toBe(Array.from({ length: 20 }, (_, i) => `t${i + 1} `).join(""))
    expect(part2.events[part2.events.length - 1]!.event).toBe("RunCompleted")
    // `after` does what the header does.
    const third = new AbortController()
    const three = await client.GET("/v1/runs/{runId}/events", {
      params: { path: { runId }, query: { after: Number(lastId), follow: "false" } },
      parseAs: "stream",
      signal: third.signal
    })
    expect((await readEvents(three.response, third)).events.map((e) => e.id)).toEqual(part2.events.map((e) => e.id))
  })

  it("lists the providers and their health", async () => {
    const providers = await api.client().GET("/v1/providers")
    const fn = providers.data?.providers.find((p) => p.id === "fn")
    expect(fn).toMatchObject({ health: "healthy", protocol: "fn/v1" })
    expect(fn?.methods.map((m) => m.name)).toEqual(["fn/wait", "fn/chunks"])
    expect(providers.data?.node).toMatch(/.+/)
  })

  it("answers health, readiness and metrics", async () => {
    const client = api.client()
    expect((await client.GET("/healthz")).data).toEqual({ status: "ok" })
    expect((await client.GET("/readyz")).data).toEqual({ status: "ready", checks: { journal: "ok" } })
    const metrics = await client.GET("/metrics", { parseAs: "text" })
    expect(metrics.response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
    expect(metrics.data).toMatch(/^# TYPE gleitzeit_runs gauge$/m)
    expect(metrics.data).toMatch(/^gleitzeit_runs\{workflow="paged",status="completed"\} 5$/m)
  })

  it("serves its OpenAPI document and its documentation page without loading anything from elsewhere", async () => {
    const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as { openapi: string; paths: object }
    expect(document.openapi).toBe("3.1.0")
    expect(Object.keys(document.paths)).toContain("/v1/runs/{runId}/events")
    const docs = await fetch(`${api.url}/docs`)
    expect(docs.status).toBe(200)
    const html = await docs.text()
    expect(html).toContain("SwaggerUIBundle")
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=["']?(https?:)?\/\//i)
  })

  it("answers unknown routes and malformed requests with problem documents", async () => {
    const client = api.client()
    const route = await fetch(`${api.url}/v2/nothing`)
    expect(route.status).toBe(404)
    expect(route.headers.get("content-type")).toBe("application/problem+json")
    expect(await route.json()).toMatchObject({ _tag: "NotFound", status: 404 })
    const notJson = await fetch(`${api.url}/v1/runs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{"
    })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ _tag: "BadRequest", code: -32600 })
    const wrongType = await client.GET("/v1/runs", { params: { query: { limit: 0 } } })
    expect(wrongType.response.status).toBe(400)
    expect(wrongType.error).toMatchObject({
      _tag: "BadRequest",
      issues: [{ path: "limit", message: "must be from 1 to 500" }]
    })
  })
})

describe("the HTTP API after a restart", () => {
  it("resumes a run that was interrupted when its server stopped", async () => {
    const scratch = tempDir()
    const filename = join(scratch.dir, "journal.db")
    try {
      const first = await startApi({ filename })
      const submitted = await first.client().POST("/v1/runs", yaml(waitFlow("restart", "restart-gate", "again")))
      const runId = submitted.data!.runId
      const controller = new AbortController()
      const stream = await first.client().GET("/v1/runs/{runId}/events", {
        params: { path: { runId } },
        parseAs: "stream",
        signal: controller.signal
      })
      await readEvents(stream.response, controller, (e) => e.event !== "TaskStarted")
      await first.close()

      const second = await startApi({ filename })
      try {
        const before = await second.client().GET("/v1/runs/{runId}", { params: { path: { runId } } })
        expect(before.data?.status).toBe("running")
        second.gates.open("restart-gate")
        const resumed = await second.client().POST("/v1/runs/{runId}/resume", { params: { path: { runId } } })
        expect(resumed.response.status).toBe(202)
        const result = await second.client().GET("/v1/runs/{runId}/result", {
          params: { path: { runId }, query: { timeout: 20 } }
        })
        expect(result.data).toMatchObject({ status: "completed", outputs: { answer: "again" } })
      } finally {
        await second.close()
      }
    } finally {
      scratch.cleanup()
    }
  })
})
