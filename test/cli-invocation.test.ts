/**
 * How one invocation of the `gleitzeit` binary is put together: `--config` anywhere on the line, the configuration
 * and the workflow file read once (a pipe can only be read once), failures mapped to one exit status and one line,
 * help pages fit for a pipe.
 */
import { afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { createWriteStream, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Cli from "./support/cli.js"

const quickstart = readFileSync(resolve(import.meta.dirname, "../examples/quickstart.yaml"), "utf8")
const subcommands = [
  "run",
  "validate",
  "status",
  "result",
  "list",
  "logs",
  "cancel",
  "resume",
  "providers",
  "init",
  "submit",
  "node",
  "serve"
]

let ws: ReturnType<typeof Cli.workspace>
const opts = () => ws.opts

beforeAll(() => Cli.requireBuilt())
beforeEach(() => {
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

describe("--config", () => {
  it("is accepted before the command, after it, after its arguments and as --config=FILE", async () => {
    ws.write("small.yaml", "max_workflow_bytes: 40\n")
    const flow = ws.write("flow.yaml", quickstart)
    for (
      const args of [
        ["--config", "small.yaml", "validate", flow],
        ["validate", "--config", "small.yaml", flow],
        ["validate", flow, "--config", "small.yaml"],
        ["validate", flow, "--config=small.yaml"]
      ]
    ) {
      const result = await Cli.run(args, opts())
      assert.strictEqual(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`)
      assert.include(result.stderr, "the limit is 40 (max_workflow_bytes)", args.join(" "))
    }
    const without = await Cli.run(["validate", flow], opts())
    assert.strictEqual(without.code, 0, without.stderr)
  })

  it("a configuration that does not parse ends the command with exit 2 and one line naming the file", async () => {
    ws.write("broken.yaml", "concurrency: [1\n")
    const result = await Cli.run(["list", "--config", "broken.yaml"], opts())
    assert.strictEqual(result.code, 2)
    assert.match(result.stderr, /^✘ cannot read broken\.yaml: .+\n$/)
  })
})

/**
 * A named pipe holding `text` for exactly one reader: a second open would wait for a writer that never comes, so a
 * command that reads it twice cannot finish.
 */
const readOnce = (name: string, text: string): string => {
  const path = join(ws.dir, name)
  execFileSync("mkfifo", [path])
  createWriteStream(path).end(text)
  return path
}

describe("one read per invocation", () => {
  it("reads the configuration once: every section of a configuration given on a named pipe takes effect", async () => {
    const config = [
      "max_workflow_bytes: 100000",
      "llm:",
      "  endpoints:",
      "    - { name: piped-endpoint, type: ollama, url: 'http://127.0.0.1:9' }",
      ""
    ].join("\n")
    const result = await Cli.run(["providers", "--config", readOnce("config.fifo", config)], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    assert.match(result.stdout, /^llm\s+llm\/chat /m, "the llm section was read from the same (only) read")
    assert.match(result.stdout, /piped-endpoint\s+ollama\s+http:\/\/127\.0\.0\.1:9/)
  })

  it("reads the workflow file once: a workflow given on a named pipe runs", async () => {
    const result = await Cli.run(["run", readOnce("flow.fifo", quickstart), "--json"], opts())
    assert.strictEqual(result.code, 0, result.stderr)
    const summary = JSON.parse(result.stdout) as { status: string; outputs: { total: number } }
    assert.strictEqual(summary.status, "completed")
    assert.strictEqual(summary.outputs.total, 105)
  })
})

describe("exit statuses", () => {
  it("every command whose PostgreSQL database is unreachable prints one line and exits 69", async () => {
    const flow = ws.write("flow.yaml", quickstart)
    const env = { GLEITZEIT_DATABASE: "postgres://gleitzeit:secret-pw@127.0.0.1:1/nowhere" }
    for (const args of [["submit", flow], ["status"], ["list"], ["cancel", "r1"], ["run", flow]]) {
      const result = await Cli.run(args, { cwd: ws.dir, db: undefined, env })
      assert.strictEqual(result.code, 69, `${args[0]}: ${result.stderr}`)
      const lines = result.stderr.trimEnd().split("\n")
      assert.lengthOf(lines, 1, `${args[0]} prints one line: ${result.stderr}`)
      assert.match(
        lines[0]!,
        /^✘ the journal database postgres:\/\/gleitzeit:\*\*\*@127\.0\.0\.1:1\/nowhere cannot be reached: /
      )
      assert.notInclude(result.stderr, "secret-pw")
      assert.notInclude(result.stderr, "    at ", "no stack trace")
    }
  })

  it("a SQLite journal that cannot be created prints one line and exits 69", async () => {
    ws.write("not-a-dir", "")
    const result = await Cli.run(["list"], { cwd: ws.dir, db: `${ws.dir}/not-a-dir/journal.db` })
    assert.strictEqual(result.code, 69, result.stderr)
    assert.lengthOf(result.stderr.trimEnd().split("\n"), 1, result.stderr)
    assert.match(result.stderr, /^✘ the journal database .*not-a-dir\/journal\.db cannot be reached: /)
  })

  it("list --limit accepts only whole decimal numbers in range (exit 2 otherwise)", async () => {
    for (const bad of ["-1", "0x10", "1e3", "0", "10001", "ten"]) {
      const result = await Cli.run(["list", "--limit", bad], opts())
      assert.strictEqual(result.code, 2, `--limit ${bad}: ${result.stdout}`)
      assert.include(result.stderr, `--limit: expected a whole number from 1 to 10000, got '${bad}'`)
    }
    const ok = await Cli.run(["list", "--limit", "16"], opts())
    assert.strictEqual(ok.code, 0, ok.stderr)
  })
})

describe("help", () => {
  it("piped help has no ANSI codes and every usage line names the program", async () => {
    for (const args of [["--help"], ...subcommands.map((c) => [c, "--help"])]) {
      const result = await Cli.run(args, opts())
      assert.strictEqual(result.code, 0, `${args.join(" ")}: ${result.stderr}`)
      assert.notInclude(result.stdout, "\u001b[", `${args.join(" ")} printed ANSI codes`)
      const usage = result.stdout.split("\n").filter((line) => /^ {2}gleitzeit /.test(line))
      assert.isAbove(usage.length, 0, `${args.join(" ")}: ${result.stdout}`)
      if (args.length === 2) assert.match(usage[0]!, new RegExp(`^ {2}gleitzeit ${args[0]} `))
    }
  })

  it("the overview lists every command with its description", async () => {
    const result = await Cli.run(["--help"], opts())
    for (const command of subcommands) {
      assert.match(result.stdout, new RegExp(`^ {2}gleitzeit ${command}\\b.*\\n {6}\\S`, "m"))
    }
  })

  it("every option of every command says what it does and its default", async () => {
    for (const command of subcommands) {
      const page = (await Cli.run([command, "--help"], opts())).stdout
      const options = page.split("OPTIONS")[1]!.split("GLOBAL OPTIONS")[0]!
      const entries = options.split(/\n(?=--)/).filter((entry) => entry.trim().startsWith("--"))
      for (const entry of entries) {
        const name = entry.trim().split(/\s/)[0]
        assert.match(entry, /\(default[:\s]/, `${command} ${name} does not state its default:\n${entry}`)
      }
    }
  })
})
