/**
 * End-to-end: a workflow chaining tools of three real MCP servers, run by the `gleitzeit` binary with the servers
 * declared in gleitzeit.yaml (the operator's configuration; a workflow never starts a process) and tuned by the
 * workflow's `providers` block; validation knows the discovered tools.
 */
import { afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { serverScript } from "../packages/providers/test/mcpServers.js"
import * as Cli from "./support/cli.js"

let ws: ReturnType<typeof Cli.workspace>
const opts = () => ws.opts
const write = (name: string, text: string) => ws.write(name, text)

const node = JSON.stringify(process.execPath)

beforeAll(() => {
  Cli.requireBuilt()
  serverScript("server-everything")
})
beforeEach(() => {
  ws = Cli.workspace()
  mkdirSync(join(ws.dir, "files"))
  writeFileSync(join(ws.dir, "files", "input.txt"), "hello from a file")
  write(
    "gleitzeit.yaml",
    `mcp:
  servers:
    files:
      command: ${node}
      args: [${JSON.stringify(serverScript("server-filesystem"))}, ${JSON.stringify(join(ws.dir, "files"))}]
    memory:
      command: ${node}
      args: [${JSON.stringify(serverScript("server-memory"))}]
      env: { MEMORY_FILE_PATH: ${JSON.stringify(join(ws.dir, "memory.jsonl"))} }
    everything:
      command: ${node}
      args: [${JSON.stringify(serverScript("server-everything"))}]
`
  )
})
afterEach(() => ws.cleanup())

/** A workflow may tune a configured server (not replace it, not start one). */
const providersBlock = `providers:
  mcp:
    servers:
      everything: { request_timeout: 120 }
`

describe("gleitzeit with MCP servers", () => {
  it("runs a workflow chaining tools of several MCP servers", async () => {
    const flow = write(
      "flow.yaml",
      `name: mcp chain
${providersBlock}tasks:
  - id: read
    method: mcp/files/read_text_file
    params: { path: ${JSON.stringify(join(ws.dir, "files", "input.txt"))} }
  - id: remember
    method: mcp/memory/create_entities
    params:
      entities:
        - { name: input, entityType: file, observations: ["\${read.response}"] }
  - id: echo
    method: mcp/everything/echo
    params: { message: "\${read.response}" }
  - id: graph
    method: mcp/memory/read_graph
    dependencies: [remember]
    params: {}
`
    )
    const result = await Cli.run(["run", flow, "--json"], opts())
    assert.strictEqual(result.code, 0, result.stderr + result.stdout)
    const summary = JSON.parse(result.stdout) as {
      status: string
      tasks: Array<{ id: string; status: string; result: { response: string } }>
    }
    assert.strictEqual(summary.status, "completed")
    const byId = Object.fromEntries(summary.tasks.map((t) => [t.id, t]))
    assert.strictEqual(byId["read"]!.result.response, "hello from a file")
    assert.strictEqual(byId["echo"]!.result.response, "Echo: hello from a file")
    assert.match(byId["graph"]!.result.response, /hello from a file/)
  })

  it("validation knows discovered tools: unknown tools and params breaking a tool's schema are reported", async () => {
    const flow = write(
      "bad.yaml",
      `name: bad
${providersBlock}tasks:
  - id: sum
    method: mcp/everything/get-sum
    params: { a: "one", b: 2 }
  - id: nope
    method: mcp/files/no_such_tool
    params: {}
`
    )
    const result = await Cli.run(["validate", flow], opts())
    assert.strictEqual(result.code, 2, result.stdout + result.stderr)
    assert.match(result.stderr, /params\.a.*Expected number/)
    assert.match(result.stderr, /unknown method 'mcp\/files\/no_such_tool'/)
  })

  it("a tool's isError result fails the task and the run without retries", async () => {
    const flow = write(
      "outside.yaml",
      `name: outside
tasks:
  - id: read
    method: mcp/files/read_text_file
    params: { path: "/etc/hostname" }
    retry: { max_attempts: 3, base_delay: 0.01 }
`
    )
    const result = await Cli.run(["run", flow, "--json"], opts())
    assert.notStrictEqual(result.code, 0)
    const summary = JSON.parse(result.stdout) as {
      status: string
      tasks: Array<{ status: string; attempts: number; error: unknown }>
    }
    assert.strictEqual(summary.status, "failed")
    assert.strictEqual(summary.tasks[0]!.status, "failed")
    assert.strictEqual(summary.tasks[0]!.attempts, 1, "an isError result is not retried")
    assert.match(JSON.stringify(summary.tasks[0]!.error), /ExecutionFailed/)
  })

  it("a task timeout interrupts the tool call and the server receives notifications/cancelled", async () => {
    const log = join(ws.dir, "everything-stdin.log")
    const tee = join(import.meta.dirname, "../packages/providers/test/fixtures/mcp-tee.mjs")
    write(
      "slow.yaml.config",
      `mcp:
  servers:
    slow:
      command: ${node}
      args: [${JSON.stringify(tee)}, ${JSON.stringify(log)}, ${JSON.stringify(join(ws.dir, "slow.pid"))}, ${
        JSON.stringify(serverScript("server-everything"))
      }]
`
    )
    const flow = write(
      "slow.yaml",
      `name: slow
tasks:
  - id: wait
    method: mcp/slow/trigger-long-running-operation
    params: { duration: 30, steps: 30 }
    timeout: 1
    retry: { max_attempts: 1 }
`
    )
    const started = performance.now()
    const result = await Cli.run(["run", flow, "--json", "--config", join(ws.dir, "slow.yaml.config")], opts())
    assert.isBelow(performance.now() - started, 15_000)
    assert.notStrictEqual(result.code, 0)
    const summary = JSON.parse(result.stdout) as { status: string; tasks: Array<{ status: string }> }
    assert.notStrictEqual(summary.status, "completed")
    const received = readFileSync(log, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) =>
      JSON.parse(l) as { method?: string; id?: number; params?: { name?: string; requestId?: number } }
    )
    const call = received.find((m) => m.method === "tools/call" && m.params?.name === "trigger-long-running-operation")
    assert.isDefined(call)
    assert.isDefined(received.find((m) => m.method === "notifications/cancelled" && m.params?.requestId === call!.id))
  })
})
