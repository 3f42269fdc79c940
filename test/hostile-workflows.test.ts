/**
 * Hostile workflow files (`test/fixtures/hostile/`) through the `gleitzeit` binary: a workflow starts no process,
 * replaces no configured server and adds no endpoint the configuration does not grant; huge, deep or alias-bomb
 * files are refused with a positioned error in bounded time, never a crash; names that carry escape sequences are
 * printed escaped.
 */
import { afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { createWriteStream, existsSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Cli from "./support/cli.js"

const fixtures = resolve(import.meta.dirname, "fixtures/hostile")
const fixture = (name: string) => join(fixtures, name)

let ws: ReturnType<typeof Cli.workspace>
const opts = () => ws.opts

beforeAll(() => Cli.requireBuilt())
beforeEach(() => {
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

/** Line and column (1-based) of the first occurrence of `needle` in a fixture (errors point at values). */
const positionIn = (name: string, needle: string) => {
  const text = readFileSync(fixture(name), "utf8")
  const before = text.slice(0, text.indexOf(needle)).split("\n")
  return `${before.length}:${before[before.length - 1]!.length + 1}`
}

describe("a workflow's providers block", () => {
  it("cannot start a process: validate, run and submit refuse a stdio MCP server at its position and start nothing", async () => {
    const file = fixture("stdio-mcp-server.yaml")
    const at = positionIn("stdio-mcp-server.yaml", "/bin/sh")
    const pg = { GLEITZEIT_DATABASE: "postgres://postgres@127.0.0.1:1/unreachable" }
    for (
      const [args, env] of [
        [["validate", file], {}],
        [["run", file], {}],
        [["submit", file], pg]
      ] as const
    ) {
      const result = await Cli.run(args, { ...opts(), env })
      assert.strictEqual(result.code, 2, `${args[0]}: ${result.stdout}${result.stderr}`)
      assert.include(
        result.stderr,
        `${file}:${at}: providers.mcp.servers.evil.command: a workflow cannot start processes`
      )
      assert.isFalse(existsSync(join(ws.dir, "PWNED")), `${args[0]} started the workflow's command`)
    }
  })

  it("cannot replace a configured MCP server by reusing its name", async () => {
    ws.write("gleitzeit.yaml", "mcp:\n  servers:\n    files: { url: 'http://127.0.0.1:1/mcp' }\n")
    const file = fixture("replace-configured-server.yaml")
    const result = await Cli.run(["validate", file], opts())
    assert.strictEqual(result.code, 2, result.stderr)
    assert.include(
      result.stderr,
      `${file}:${
        positionIn("replace-configured-server.yaml", "\"http:")
      }: providers.mcp.servers.files.url: 'files' is a ` +
        "configured MCP server; a workflow cannot replace it"
    )
  })

  it("cannot add an LLM endpoint the configuration does not grant; a granted one is used", async () => {
    const file = fixture("undeclared-llm-endpoint.yaml")
    const refused = await Cli.run(["validate", file], opts())
    assert.strictEqual(refused.code, 2, refused.stderr)
    assert.include(
      refused.stderr,
      "providers.ollama.instances[0].url: adds the LLM endpoint http://attacker.example:11434"
    )
    ws.write("gleitzeit.yaml", "grants:\n  llm_endpoints: ['http://attacker.example:*']\n")
    const granted = await Cli.run(["validate", file], opts())
    assert.strictEqual(granted.code, 0, granted.stderr)
  })

  it("must be a mapping", async () => {
    const result = await Cli.run(["validate", fixture("providers-not-a-mapping.yaml")], opts())
    assert.strictEqual(result.code, 2)
    assert.match(result.stderr, /providers-not-a-mapping\.yaml:2:12: providers: must be a mapping/)
  })
})

describe("files too large, too deep or too repetitive", () => {
  it("a JSON file nested 50,000 deep is refused at the first level past the limit (exit 2, no crash)", async () => {
    const file = fixture("deep-nesting-50000.json")
    const result = await Cli.run(["validate", file], opts())
    assert.strictEqual(result.code, 2, result.stderr.slice(0, 2000))
    assert.strictEqual(result.stderr, `✘ ${file}:1:74: nested more than 64 levels deep (the limit)\n`)
  })

  it("a file nested 1,000 deep is refused the same way, by run too", async () => {
    const file = fixture("deep-nesting-1000.json")
    const result = await Cli.run(["run", file], opts())
    assert.strictEqual(result.code, 2, result.stderr.slice(0, 2000))
    assert.strictEqual(result.stderr, `✘ ${file}:1:74: nested more than 64 levels deep (the limit)\n`)
    assert.strictEqual(result.stdout, "")
  })

  it("an alias bomb is refused at its first alias", async () => {
    const file = fixture("alias-bomb.yaml")
    const result = await Cli.run(["validate", file], opts())
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, `${file}:${positionIn("alias-bomb.yaml", "*a0")}: `)
    assert.match(result.stderr, /alias/i)
  })

  it("a 50 MB file is refused by its size before it is read", async () => {
    const file = join(ws.dir, "huge.yaml")
    execFileSync("truncate", ["-s", "50M", file])
    const result = await Cli.run(["validate", file], opts())
    assert.strictEqual(result.code, 2)
    assert.strictEqual(
      result.stderr,
      `✘ ${file} is 52428800 bytes; the limit is 10485760 (max_workflow_bytes)\n`
    )
  })

  it("a stream is read only up to the limit", async () => {
    ws.write("gleitzeit.yaml", "max_workflow_bytes: 1000\n")
    const fifo = join(ws.dir, "endless.fifo")
    execFileSync("mkfifo", [fifo])
    const writer = createWriteStream(fifo)
    writer.on("error", () => undefined)
    writer.write(`# ${"x".repeat(4000)}\n`)
    const result = await Cli.run(["validate", fifo], opts())
    writer.destroy()
    assert.strictEqual(result.code, 2)
    assert.include(result.stderr, "is larger than 1000 bytes, the limit (max_workflow_bytes)")
  })
})

/** True when text holds a control character other than newline and tab. */
const hasRawControl = (text: string): boolean =>
  [...text].some((c) => {
    const code = c.charCodeAt(0)
    return (code < 0x20 && c !== "\n" && c !== "\t") || (code >= 0x7f && code <= 0x9f)
  })

describe("names that carry escape sequences", () => {
  it("are printed escaped by run, status, list, logs and result", async () => {
    const run = await Cli.run(["run", fixture("escape-sequences.yaml")], opts())
    assert.strictEqual(run.code, 0, run.stderr)
    const runId = run.stdout.match(/▶ run (\w+)/)![1]!
    const outputs = [
      run.stdout,
      (await Cli.run(["status", runId], opts())).stdout,
      (await Cli.run(["list"], opts())).stdout,
      (await Cli.run(["logs", runId], opts())).stdout,
      (await Cli.run(["result", runId, "greet"], opts())).stdout
    ]
    for (const [i, output] of outputs.entries()) {
      assert.isFalse(hasRawControl(output), `output ${i} carries a raw control character: ${JSON.stringify(output)}`)
    }
    assert.include(run.stdout, "\\x1b]0;owned\\x07\\x1b[2Jworkflow")
    assert.include(outputs[4]!, "\\x1b[31mred\\x1b[0m\\x07")
  })
})
