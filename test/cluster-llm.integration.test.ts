/**
 * LLM tasks in a cluster: node processes configured with the test LLM server (node-llama-cpp). The tokens of a chat
 * executed on another node than its run's coordinator reach a client's progress output, ahead of its result; with
 * `--llm-routing model`, the calls of a model all go to one node while other tasks still spread.
 */
import { Printer } from "@gleitzeit/cli"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type LlmServer, startLlmServer } from "./llm/launch.js"
import { run } from "./support/cli.js"
import { makeCluster, type TestCluster } from "./support/cluster.js"

let llm: LlmServer
let cluster: TestCluster
let byModel: TestCluster

const llmConfig = () =>
  ["llm:", "  endpoints:", "    - name: local", "      type: ollama", `      url: ${llm.url}`, ""].join("\n")

beforeAll(async () => {
  llm = await startLlmServer({ models: ["tiny-chat"] })
  cluster = await makeCluster(llmConfig())
  byModel = await makeCluster(llmConfig())
  await Promise.all([
    ...["llm-1", "llm-2"].map((name) => cluster.startNode(name)),
    ...["model-1", "model-2"].map((name) => byModel.startNode(name, undefined, ["--llm-routing", "model"]))
  ])
  await Promise.all([cluster.settled(["llm-1", "llm-2"]), byModel.settled(["model-1", "model-2"])])
})

afterAll(async () => {
  await cluster?.close()
  await byModel?.close()
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

/** A text as the CLI prints streamed output: one line per line, escaped, no trailing empty line. */
const asLines = (text: string) => {
  const lines = text.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return lines.map((line) => Printer.escape(line.replace(/\r$/, "")))
}

describe("LLM tasks on a cluster", () => {
  it("a chat executed on another node than the coordinator streams its tokens to the client ahead of its result", async () => {
    const file = cluster.write("chats.yaml", chats(8))
    const result = await run(["submit", file, "--wait", "--verbose"], cluster.opts)
    expect(result.code, result.stderr).toBe(0)
    const runId = /run (\w+) submitted/.exec(result.stdout)![1]!
    const status = await run(["status", runId, "--json"], cluster.opts)
    const responses = new Map(
      (JSON.parse(status.stdout) as { tasks: Array<{ id: string; result: { response: string } }> }).tasks.map((
        t
      ) => [t.id, t.result.response])
    )
    const [owner] = await cluster.sql<{ owner: string }>(`SELECT owner FROM runs WHERE id = '${runId}'`)
    const remote = await cluster.sql<{ task_id: string; node: string }>(
      `SELECT task_id, node FROM attempts WHERE run_id = '${runId}' AND node <> '${owner!.owner}'`
    )
    expect(remote.length).toBeGreaterThan(0)
    const lines = result.stdout.split("\n")
    for (const { node, task_id } of remote) {
      const done = lines.findIndex((line) => line.includes(`✓ ${task_id} `))
      expect(lines[done]).toContain(`(on ${node})`)
      // The tokens came back from the other node as output events, printed (as text, not a line per token) before
      // the task's completion: the streamed text is the whole answer.
      const streamed = lines.slice(0, done).filter((line) => line.startsWith(`    ${task_id} │ `))
      expect(streamed.map((line) => line.slice(`    ${task_id} │ `.length))).toEqual(asLines(responses.get(task_id)!))
    }
  })

  it("with --llm-routing model, every call of a model executes on one node; other tasks still spread", async () => {
    const adds = Array.from(
      { length: 12 },
      (_, i) => `  - id: a${i}\n    method: mcp/tool.add\n    params: { a: ${i}, b: 1 }\n`
    ).join("")
    const file = byModel.write("mixed.yaml", `${chats(12)}${adds}`)
    const result = await run(["submit", file, "--wait"], byModel.opts)
    expect(result.code, result.stderr).toBe(0)
    const runId = /run (\w+) submitted/.exec(result.stdout)![1]!
    const chatNodes = await byModel.sql<{ node: string }>(
      `SELECT DISTINCT node FROM attempts WHERE run_id = '${runId}' AND task_id LIKE 'c%'`
    )
    expect(chatNodes.length).toBe(1)
    const addNodes = await byModel.sql<{ node: string }>(
      `SELECT DISTINCT node FROM attempts WHERE run_id = '${runId}' AND task_id LIKE 'a%'`
    )
    expect(addNodes.length).toBe(2)
  })
})
