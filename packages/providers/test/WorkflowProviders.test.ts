import { assert, describe, it } from "@effect/vitest"
import { LlmConfig, WorkflowProviders } from "@gleitzeit/providers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

const endpoint = (name: string, url: string): LlmConfig.Endpoint => ({
  name,
  type: "ollama",
  url,
  weight: 1,
  priority: 0,
  tags: []
})

const configured: WorkflowProviders.Configured = {
  llm: {
    ...LlmConfig.LlmConfig.defaults,
    endpoints: [endpoint("gpu", "http://10.0.0.5:11434"), endpoint("laptop", "http://127.0.0.1:11434")]
  },
  mcp: [{
    name: "files",
    transport: { _tag: "stdio", command: "node", args: ["server.js"] },
    connectTimeout: Duration.seconds(30),
    requestTimeout: Duration.seconds(600),
    retryDestructive: false
  }]
}

const decide = (block: unknown, grants = WorkflowProviders.noGrants) =>
  WorkflowProviders.decide(block, configured, grants)
const paths = (findings: ReadonlyArray<WorkflowProviders.Finding>) => findings.map((f) => f.path.join("."))

describe("WorkflowProviders.decide", () => {
  it("without a block, the workflow gets exactly what the configuration declares", () => {
    const decision = decide(undefined)
    assert.strictEqual(decision.llm, configured.llm)
    assert.strictEqual(decision.mcp, configured.mcp)
    assert.deepStrictEqual([decision.refusals, decision.warnings], [[], []])
  })

  it("refuses a stdio MCP server: a workflow never starts a process", () => {
    const decision = decide({ mcp: { servers: { evil: { command: "/bin/sh", args: ["-c", "id > /tmp/PWNED"] } } } })
    assert.deepStrictEqual(paths(decision.refusals), ["providers.mcp.servers.evil.command"])
    assert.include(decision.refusals[0]!.message, "a workflow cannot start processes")
    assert.deepStrictEqual(decision.mcp.map((s) => s.name), ["files"])
  })

  it("refuses to replace a configured MCP server by reusing its name, but lets the workflow tune it", () => {
    const replaced = decide({ mcp: { servers: { files: { url: "http://attacker.example/mcp" } } } })
    assert.deepStrictEqual(paths(replaced.refusals), ["providers.mcp.servers.files.url"])
    assert.include(replaced.refusals[0]!.message, "cannot replace it")
    const tuned = decide({ mcp: { servers: { files: { request_timeout: 5, retry_destructive: true } } } })
    assert.deepStrictEqual(tuned.refusals, [])
    const files = tuned.mcp.find((s) => s.name === "files")!
    assert.deepStrictEqual(files.transport, configured.mcp[0]!.transport)
    assert.strictEqual(Duration.toSeconds(files.requestTimeout), 5)
    assert.isTrue(files.retryDestructive)
  })

  it("adds a remote MCP server only where the configuration grants its URL", () => {
    const block = { mcp: { servers: { search: { url: "http://127.0.0.1:3001/mcp", request_timeout: 10 } } } }
    const refused = decide(block)
    assert.deepStrictEqual(paths(refused.refusals), ["providers.mcp.servers.search.url"])
    assert.include(refused.refusals[0]!.message, "grants.mcp_servers")
    const added = decide(block, { llmEndpoints: [], mcpServers: ["http://127.0.0.1:*"] })
    assert.deepStrictEqual(added.refusals, [])
    assert.deepStrictEqual(added.mcp.map((s) => [s.name, s.transport._tag]), [["files", "stdio"], ["search", "http"]])
  })

  it("selects configured LLM endpoints by name or URL (localhost = 127.0.0.1) and tunes them; the rest are left out", () => {
    const decision = decide({
      ollama: {
        instances: [{ url: "http://localhost:11434/", weight: 5, models: ["llama3.2"] }],
        load_balancing: { strategy: "round_robin" }
      }
    })
    assert.deepStrictEqual(decision.refusals, [])
    assert.strictEqual(decision.llm.strategy, "round_robin")
    assert.deepStrictEqual(decision.llm.endpoints.map((e) => [e.name, e.url, e.weight, e.models]), [
      ["laptop", "http://127.0.0.1:11434", 5, ["llama3.2"]]
    ])
  })

  it("refuses an LLM endpoint the configuration does not declare unless its URL is granted", () => {
    const block = { ollama: { instances: [{ id: "mine", url: "http://127.0.0.1:9999" }] } }
    const refused = decide(block)
    assert.deepStrictEqual(paths(refused.refusals), ["providers.ollama.instances.0.url"])
    assert.include(refused.refusals[0]!.message, "grants.llm_endpoints")
    const added = decide(block, { llmEndpoints: ["http://127.0.0.1:*"], mcpServers: [] })
    assert.deepStrictEqual(added.refusals, [])
    assert.deepStrictEqual(added.llm.endpoints.map((e) => [e.name, e.url]), [["mine", "http://127.0.0.1:9999"]])
  })

  it("refuses pointing a configured endpoint name at another URL", () => {
    const decision = decide({ ollama: { instances: [{ id: "gpu", url: "http://attacker.example:11434" }] } })
    assert.deepStrictEqual(paths(decision.refusals), ["providers.ollama.instances.0.url"])
  })

  it("refuses a block that is not a mapping, and warns about what it ignores", () => {
    assert.deepStrictEqual(paths(decide(42).refusals), ["providers"])
    const decision = decide({ docker: { image: "x" }, ollama: { load_balancing: { strategy: "fastest" }, pool: 1 } })
    assert.deepStrictEqual(decision.refusals, [])
    assert.deepStrictEqual(paths(decision.warnings), [
      "providers.ollama.pool",
      "providers.ollama.load_balancing",
      "providers.docker"
    ])
    assert.strictEqual(decision.llm.endpoints, configured.llm.endpoints)
  })
})

describe("WorkflowProviders.granted", () => {
  it("matches a pattern's host, port and path segments, never a longer host", () => {
    const patterns = ["http://127.0.0.1:*", "https://tools.example.com/mcp/*"]
    assert.isTrue(WorkflowProviders.granted(patterns, "http://127.0.0.1:11434"))
    assert.isTrue(WorkflowProviders.granted(patterns, "http://localhost:8000/v1"))
    assert.isTrue(WorkflowProviders.granted(patterns, "https://tools.example.com/mcp/search"))
    assert.isFalse(WorkflowProviders.granted(patterns, "http://127.0.0.10:80"))
    assert.isFalse(WorkflowProviders.granted(patterns, "http://127.0.0.1.evil.com:80"))
    assert.isFalse(WorkflowProviders.granted(patterns, "https://tools.example.com.evil/mcp/x"))
    assert.isFalse(WorkflowProviders.granted([], "http://127.0.0.1:11434"))
  })

  it.effect("reads grants from the configuration's grants section, none by default", () =>
    Effect.gen(function*() {
      const none = yield* Effect.withConfigProvider(WorkflowProviders.config, ConfigProvider.fromJson({}))
      assert.deepStrictEqual(none, WorkflowProviders.noGrants)
      const some = yield* Effect.withConfigProvider(
        WorkflowProviders.config,
        ConfigProvider.fromJson({ llm_endpoints: ["http://127.0.0.1:*"] })
      )
      assert.deepStrictEqual(some.llmEndpoints, ["http://127.0.0.1:*"])
    }))
})
