/**
 * Secrets at rest and in output, through the binary: the journal is private to its owner, `${secrets.NAME}`
 * reaches the server but never the journal or the terminal, and URL passwords and secret-looking query keys are
 * redacted by `run`, `logs` and `status --json`.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import * as Cli from "./support/cli.js"

let ws: ReturnType<typeof Cli.workspace>
let server: Server
let url: string
const seen: Array<{ path: string; authorization: string | undefined; query: string }> = []

beforeEach(async () => {
  Cli.requireBuilt()
  ws = Cli.workspace()
  seen.length = 0
  server = createServer((req, res) => {
    const target = new URL(req.url ?? "/", "http://x")
    seen.push({ path: target.pathname, authorization: req.headers.authorization, query: target.search })
    res.writeHead(target.pathname === "/fail" ? 500 : 200, { "content-type": "application/json" })
    res.end(JSON.stringify({ path: target.pathname }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterEach(async () => {
  await new Promise((resolve) => server.close(resolve))
  ws.cleanup()
})

const mode = (path: string) => statSync(path).mode & 0o777

/** Every byte of the journal's files, as text. */
const journalBytes = (dir: string) =>
  readdirSync(dir).filter((f) => f.startsWith("gleitzeit.db")).map((f) => readFileSync(join(dir, f), "latin1")).join()

describe("secrets at rest and in output", () => {
  it("the journal's files are 0600 in a 0700 directory, also when the directory existed wider", async () => {
    const file = ws.write("flow.yaml", "tasks: [{ id: a, method: mcp/tool.echo, params: { message: hi } }]\n")
    const fresh = join(ws.dir, "state", "nested")
    const created = await Cli.run(["run", file], { cwd: ws.dir, db: join(fresh, "gleitzeit.db") })
    assert.strictEqual(created.code, 0, created.stderr)
    assert.strictEqual(mode(fresh), 0o700)
    assert.strictEqual(mode(join(ws.dir, "state")), 0o700)
    const files = readdirSync(fresh).filter((f) => f.startsWith("gleitzeit.db"))
    assert.includeMembers(files, ["gleitzeit.db"])
    for (const f of files) assert.strictEqual(mode(join(fresh, f)), 0o600, f)
    // A .gleitzeit folder left 0755 by an older version is narrowed, its journal too.
    const own = join(ws.dir, ".gleitzeit")
    mkdirSync(own, { mode: 0o755 })
    chmodSync(own, 0o755)
    writeFileSync(join(own, "gleitzeit.db"), "")
    chmodSync(join(own, "gleitzeit.db"), 0o644)
    const again = await Cli.run(["run", file], { cwd: ws.dir, db: undefined })
    assert.strictEqual(again.code, 0, again.stderr)
    assert.strictEqual(mode(own), 0o700)
    for (const f of readdirSync(own).filter((n) => n.startsWith("gleitzeit.db"))) {
      assert.strictEqual(mode(join(own, f)), 0o600, f)
    }
  })

  it("${secrets.NAME} reaches the server, and neither the journal nor any output", async () => {
    const fromEnv = "env-secret-5f4e3d2c1b"
    const fromFile = "file-secret-0a9b8c7d6e"
    writeFileSync(join(ws.dir, "gleitzeit.yaml"), `secrets:\n  FILE_TOKEN: ${fromFile}\n`)
    const file = ws.write(
      "flow.yaml",
      [
        "tasks:",
        "  - id: call",
        "    method: http/request",
        `    params: { url: "${url}/echo?q=\${secrets.FILE_TOKEN}", headers: { authorization: "Bearer \${secrets.API_TOKEN}" } }`,
        "  - id: fail",
        "    method: http/request",
        `    params: { url: "${url}/fail?key=\${secrets.API_TOKEN}" }`,
        "    dependencies: [call]",
        "    retry: 1"
      ].join("\n") + "\n"
    )
    const db = join(ws.dir, "state", "gleitzeit.db")
    const opts = { cwd: ws.dir, db, env: { GLEITZEIT_SECRET_API_TOKEN: fromEnv } }
    const run = await Cli.run(["run", file], opts)
    assert.strictEqual(run.code, 1, run.stderr)
    assert.deepStrictEqual(seen.map((s) => [s.path, s.authorization, s.query]), [
      ["/echo", `Bearer ${fromEnv}`, `?q=${fromFile}`],
      ["/fail", undefined, `?key=${fromEnv}`]
    ])
    const runId = /run (\S+)/.exec(run.stdout + run.stderr)![1]!
    const status = await Cli.run(["status", runId, "--json"], opts)
    const logs = await Cli.run(["logs", runId], opts)
    for (const output of [run.stdout, run.stderr, status.stdout, status.stderr, logs.stdout, logs.stderr]) {
      assert.notInclude(output, fromEnv)
      assert.notInclude(output, fromFile)
    }
    assert.include(status.stdout, "key=***")
    assert.notInclude(journalBytes(join(ws.dir, "state")), fromEnv)
    assert.notInclude(journalBytes(join(ws.dir, "state")), fromFile)
  })

  it("URL passwords and secret-looking query values are redacted by run, logs and status --json", async () => {
    const file = ws.write(
      "flow.yaml",
      `tasks: [{ id: f, method: http/request, params: { url: "${
        url.replace("http://", "http://bob:hunter2@")
      }/fail?api_key=sk-query-1&q=tea" }, retry: 1 }]\n`
    )
    const run = await Cli.run(["run", file], ws.opts)
    assert.strictEqual(run.code, 1, run.stderr)
    const runId = /run (\S+)/.exec(run.stdout + run.stderr)![1]!
    const status = await Cli.run(["status", runId, "--json"], ws.opts)
    const logs = await Cli.run(["logs", runId], ws.opts)
    assert.include(status.stdout, "http://bob:***@127.0.0.1")
    assert.include(status.stdout, "api_key=***&q=tea")
    for (const output of [run.stdout, run.stderr, status.stdout, logs.stdout, logs.stderr]) {
      assert.notInclude(output, "hunter2")
      assert.notInclude(output, "sk-query-1")
    }
  })
})
