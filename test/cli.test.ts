/**
 * End-to-end tests of the `gleitzeit` binary as a real process, with a real SQLite journal and a real HTTP server.
 */
import { afterAll, afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Cli from "./support/cli.js"
import { startServer, type TestServer } from "./support/httpServer.js"

const quickstart = resolve(import.meta.dirname, "../examples/quickstart.yaml")

let server: TestServer
let ws: ReturnType<typeof Cli.workspace>
const opts = () => ws.opts
const write = (name: string, text: string) => ws.write(name, text)

beforeAll(async () => {
  Cli.requireBuilt()
  server = await startServer()
})
afterAll(() => server.close())
beforeEach(() => {
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

const statusJson = async (runId: string) => {
  const result = await Cli.run(["status", runId, "--json"], opts())
  assert.strictEqual(result.code, 0, result.stderr)
  return JSON.parse(result.stdout) as {
    status: string
    outputs: Record<string, unknown>
    tasks: Array<{ id: string; status: string; attempts: number; result: unknown }>
  }
}

describe("gleitzeit run", () => {
  it("prints live progress for every task and exits 0 when the run completes", async () => {
    const result = await Cli.run(["run", quickstart], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    for (const task of ["base", "double", "triple", "total", "report"]) {
      assert.match(result.stdout, new RegExp(`✓ ${task} `))
    }
    const runId = result.stdout.match(/▶ run (\w+)/)![1]!
    assert.match(result.stdout, new RegExp(`✔ run ${runId} completed`))
    const status = await statusJson(runId)
    assert.strictEqual(status.status, "completed")
    assert.deepStrictEqual(status.outputs, { total: 105, report: "base=21 double=42 triple=63 total=105" })
  })

  it("--json prints only a JSON summary of the run", async () => {
    const result = await Cli.run(["run", quickstart, "--json"], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    const summary = JSON.parse(result.stdout) as { status: string; tasks: Array<{ status: string }> }
    assert.strictEqual(summary.status, "completed")
    assert.strictEqual(summary.tasks.length, 5)
    assert.isTrue(summary.tasks.every((t) => t.status === "completed"))
  })

  it("exits 1 and reports the failure when a task fails (never claims success)", async () => {
    const file = write(
      "failing.yaml",
      `name: failing
tasks:
  - id: ok
    method: mcp/tool.echo
    params: { message: hi }
  - id: broken
    method: http/request
    params: { url: "http://127.0.0.1:9/unreachable" }
    retry: { max_attempts: 1 }
  - id: after
    method: mcp/tool.echo
    params: { message: "\${broken.body}" }
`
    )
    const result = await Cli.run(["run", file], opts())
    assert.strictEqual(result.code, 1)
    assert.match(result.stdout, /✗ broken failed: .*unreachable/)
    assert.match(result.stdout, /✘ run \w+ failed: task 'broken' failed/)
    assert.notMatch(result.stdout, /completed$/m)
    const runId = result.stdout.match(/▶ run (\w+)/)![1]!
    const status = await statusJson(runId)
    assert.strictEqual(status.status, "failed")
    assert.deepStrictEqual(status.tasks.map((t) => [t.id, t.status]), [
      ["ok", "completed"],
      ["broken", "failed"],
      ["after", "cancelled"]
    ])
  })

  it("rejects an invalid workflow before running anything, listing every problem with line and column (exit 2)", async () => {
    const file = write(
      "invalid.yaml",
      `name: invalid
tasks:
  - id: a
    method: mcp/tool.add
    params: { a: 1 }
  - id: b
    method: no/such-method
    dependencies: [ghost]
  - id: a
    method: mcp/tool.echo
    params: { message: x }
`
    )
    const result = await Cli.run(["run", file], opts())
    assert.strictEqual(result.code, 2)
    assert.match(result.stderr, /invalid\.yaml:5:\d+: tasks\[0\]\.params\.b: is missing/)
    assert.match(result.stderr, /invalid\.yaml:7:\d+: tasks\[1\]\.method: unknown method 'no\/such-method'/)
    assert.match(result.stderr, /invalid\.yaml:8:\d+: tasks\[1\]\.dependencies\[0\]: dependency 'ghost'/)
    assert.match(result.stderr, /invalid\.yaml:9:\d+: tasks\[2\]\.id: duplicate task id 'a'/)
    const list = await Cli.run(["list", "--json"], opts())
    assert.deepStrictEqual(JSON.parse(list.stdout), [])
  })

  it("reports malformed YAML with its line and column (exit 2)", async () => {
    const file = write("broken.yaml", "name: x\ntasks:\n  - id: a\n    method: [oops\n")
    const result = await Cli.run(["validate", file], opts())
    assert.strictEqual(result.code, 2)
    assert.match(result.stderr, /broken\.yaml:\d+:\d+: /)
  })

  it("names the cycle of a cyclic workflow (exit 2)", async () => {
    const file = write(
      "cycle.yaml",
      "tasks:\n  - { id: a, method: mcp/tool.echo, params: { message: \"${c.response}\" } }\n  - { id: b, method: mcp/tool.echo, params: { message: \"${a.response}\" } }\n  - { id: c, method: mcp/tool.echo, params: { message: \"${b.response}\" } }\n"
    )
    const result = await Cli.run(["validate", file], opts())
    assert.strictEqual(result.code, 2)
    assert.match(result.stderr, /dependency cycle: a → c → b → a/)
  })
})

describe("batch workflows", () => {
  it("type: batch runs one task per matching file and reports each file's outcome", async () => {
    const { mkdirSync } = await import("node:fs")
    mkdirSync(join(ws.dir, "docs", "deep"), { recursive: true })
    for (const f of ["a.txt", "deep/b.txt", "skip.md"]) writeFileSync(join(ws.dir, "docs", f), f)
    const file = write(
      "batch.yaml",
      "name: files\ntype: batch\nbatch: { directory: docs, pattern: '**/*.txt' }\ntemplate: { method: mcp/tool.concat, strings: [seen] }\n"
    )
    const result = await Cli.run(["run", file, "--json"], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    const summary = JSON.parse(result.stdout) as { tasks: Array<{ name: string; status: string }> }
    assert.deepStrictEqual(summary.tasks.map((t) => [t.name.slice(ws.dir.length), t.status]), [
      ["/docs/a.txt", "completed"],
      ["/docs/deep/b.txt", "completed"]
    ])
  })
})

describe("gleitzeit status/list/logs/init/providers", () => {
  it("status of an unknown run exits 3", async () => {
    const result = await Cli.run(["status", "nope"], opts())
    assert.strictEqual(result.code, 3)
    assert.match(result.stderr, /no run 'nope'/)
  })

  it("init writes a starter workflow that validates and runs", async () => {
    const init = await Cli.run(["init", "demo"], opts())
    assert.strictEqual(init.code, 0, init.stderr)
    const validate = await Cli.run(["validate", "demo.yaml"], opts())
    assert.strictEqual(validate.code, 0, validate.stderr)
    const result = await Cli.run(["run", "demo.yaml", "--json"], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    assert.deepStrictEqual(JSON.parse(result.stdout).outputs, { product: 20, report: "2 + 3 = 5, times 4 = 20" })
  })

  it("providers lists every built-in method with its health", async () => {
    const result = await Cli.run(["providers"], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    for (const method of ["http/request", "mcp/tool.echo", "mcp/tool.add", "mcp/tool.multiply", "mcp/tool.concat"]) {
      assert.match(result.stdout, new RegExp(`${method.replace("/", "\\/")}\\s+healthy`))
    }
  })

  it("list shows runs, newest first, filtered by status", async () => {
    await Cli.run(["run", quickstart], opts())
    const file = write(
      "f.yaml",
      "tasks:\n  - { id: x, method: http/request, params: { url: \"http://127.0.0.1:9/\" }, retry: 1 }\n"
    )
    await Cli.run(["run", file], opts())
    const all = JSON.parse((await Cli.run(["list", "--json"], opts())).stdout) as Array<{ status: string }>
    assert.deepStrictEqual(all.map((r) => r.status), ["failed", "completed"])
    const failed = JSON.parse((await Cli.run(["list", "--status", "failed", "--json"], opts())).stdout) as Array<
      unknown
    >
    assert.strictEqual(failed.length, 1)
  })
})

describe("crash, cancel and follow across real processes", () => {
  const flow = (prefix: string) =>
    `name: durable
tasks:
  - id: first
    method: http/request
    params: { url: "${server.url}/${prefix}/first" }
  - id: slow
    method: http/request
    params: { url: "${server.url}/${prefix}/slow" }
    dependencies: [first]
  - id: last
    method: http/request
    params: { url: "${server.url}/${prefix}/last?from=\${slow.body.path}" }
`

  it("kill -9 in the middle of a run, then resume: no completed task runs again and the run completes", async () => {
    const prefix = "kill"
    server.hold.add(`/${prefix}/slow`)
    const file = write("durable.yaml", flow(prefix))
    const running = Cli.start(["run", file], opts())
    const runId = (await running.waitFor(/▶ run (\w+)/))[1]!
    await server.arrived(`/${prefix}/slow`)
    running.child.kill("SIGKILL")
    const killed = await running.done
    assert.strictEqual(killed.signal, "SIGKILL")

    const before = await statusJson(runId)
    assert.strictEqual(before.status, "running")
    assert.deepStrictEqual(before.tasks.map((t) => [t.id, t.status]), [
      ["first", "completed"],
      ["slow", "running"],
      ["last", "pending"]
    ])

    server.release(`/${prefix}/slow`)
    const resumed = await Cli.run(["resume", runId], opts())
    assert.strictEqual(resumed.code, 0, resumed.stdout + resumed.stderr)
    assert.match(resumed.stdout, /↻ resumed run/)
    assert.match(resumed.stdout, new RegExp(`✔ run ${runId} completed`))

    const after = await statusJson(runId)
    assert.strictEqual(after.status, "completed")
    assert.strictEqual(server.hits.get(`/${prefix}/first`), 1, "a completed task ran again")
    assert.strictEqual(server.hits.get(`/${prefix}/slow`), 2, "the interrupted attempt runs again")
    assert.strictEqual(server.hits.get(`/${prefix}/last`), 1)
    const slow = after.tasks.find((t) => t.id === "slow")!
    assert.strictEqual(slow.attempts, 1, "the interrupted attempt keeps its number")

    const again = await Cli.run(["resume", runId], opts())
    assert.strictEqual(again.code, 3)
    assert.match(again.stderr, /already ended \(completed\)/)
  })

  it("Ctrl-C on run cancels it: the in-flight HTTP request is aborted and the run is recorded as cancelled", async () => {
    const prefix = "sigint"
    server.hold.add(`/${prefix}/slow`)
    const file = write("durable.yaml", flow(prefix))
    const running = Cli.start(["run", file], opts())
    const runId = (await running.waitFor(/▶ run (\w+)/))[1]!
    await server.arrived(`/${prefix}/slow`)
    const closed = server.closed(`/${prefix}/slow`)
    running.child.kill("SIGINT")
    await closed
    const finished = await running.done
    assert.strictEqual(finished.code, 130)
    server.release(`/${prefix}/slow`)
    const status = await statusJson(runId)
    assert.strictEqual(status.status, "cancelled")
    assert.deepStrictEqual(status.tasks.map((t) => [t.id, t.status]), [
      ["first", "completed"],
      ["slow", "cancelled"],
      ["last", "cancelled"]
    ])
    assert.strictEqual(server.hits.get(`/${prefix}/last`), undefined)
  })

  it("logs --follow in another process shows the run's events until it ends", async () => {
    const prefix = "follow"
    server.hold.add(`/${prefix}/slow`)
    const file = write("durable.yaml", flow(prefix))
    const running = Cli.start(["run", file], opts())
    const runId = (await running.waitFor(/▶ run (\w+)/))[1]!
    await server.arrived(`/${prefix}/slow`)
    const follower = Cli.start(["logs", runId, "--follow"], opts())
    await follower.waitFor(/→ slow http\/request/)
    server.release(`/${prefix}/slow`)
    const [followed, ran] = await Promise.all([follower.done, running.done])
    assert.strictEqual(ran.code, 0, ran.stderr)
    assert.strictEqual(followed.code, 0, followed.stderr)
    for (const line of ["✓ first", "✓ slow", "✓ last", `✔ run ${runId} completed`]) {
      assert.include(followed.stdout, line)
    }
  })
})
