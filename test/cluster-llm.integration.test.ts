/**
 * LLM tasks in a cluster: two node processes configured with the test LLM server (node-llama-cpp); the tokens of a
 * chat executed on another node than its run's coordinator reach a client's progress output, ahead of its result.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type LlmServer, startLlmServer } from "./llm/launch.js"
import { run } from "./support/cli.js"
import { makeCluster, type TestCluster } from "./support/cluster.js"

let llm: LlmServer
let cluster: TestCluster

beforeAll(async () => {
  llm = await startLlmServer({ models: ["tiny-chat"] })
  cluster = await makeCluster(
    ["llm:", "  endpoints:", "    - name: local", "      type: ollama", `      url: ${llm.url}`, ""].join("\n")
  )
  await Promise.all(["llm-1", "llm-2"].map((name) => cluster.startNode(name)))
  await cluster.settled(["llm-1", "llm-2"])
})

afterAll(async () => {
  await cluster?.close()
  await llm?.stop()
})

const chats = (n: number) =>
  [
    "name: chats",
    "tasks:",
    ...Array.from({ length: n }, (_, i) => [
      `  - id: c${i}`,
      "    method: llm/chat",
      "    parameters:",
      "      model: tiny-chat",
      `      messages: [{role: user, content: 'Idea number ${i}'}]`,
      "      max_tokens: 8",
      // Exactly 8 tokens: a random-weight model may otherwise stop after one.
      "      options: {ignore_eos: true}"
    ]).flat(),
    ""
  ].join("\n")

describe("LLM tasks on a cluster", () => {
  it("a chat executed on another node than the coordinator streams its tokens to the client ahead of its result", async () => {
    const file = cluster.write("chats.yaml", chats(8))
    const result = await run(["submit", file, "--wait"], cluster.opts)
    expect(result.code, result.stderr).toBe(0)
    const runId = /run (\w+) submitted/.exec(result.stdout)![1]!
    const [owner] = await cluster.sql<{ owner: string }>(`SELECT owner FROM runs WHERE id = '${runId}'`)
    const remote = await cluster.sql<{ task_id: string; node: string }>(
      `SELECT task_id, node FROM attempts WHERE run_id = '${runId}' AND node <> '${owner!.owner}'`
    )
    expect(remote.length).toBeGreaterThan(0)
    const lines = result.stdout.split("\n")
    for (const { node, task_id } of remote) {
      const done = lines.findIndex((line) => line.includes(`✓ ${task_id} `))
      expect(lines[done]).toContain(`(on ${node})`)
      // The tokens came back from the other node and were printed before the task's completion.
      const tokens = lines.slice(0, done).filter((line) => line.includes(`${task_id} │`))
      expect(tokens.length).toBeGreaterThanOrEqual(2)
    }
  })
})
