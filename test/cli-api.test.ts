/**
 * `gleitzeit serve` and `gleitzeit keys` as real processes: the README's curl example runs as written (against a
 * free port), keys are printed once and stored as hashes, and serve refuses to expose the API without a key.
 */
import { spawn } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join, resolve } from "node:path"
import { describe, expect, it } from "vitest"
import { bin, requireBuilt, run, start, workspace } from "./support/cli.js"

const freePort = () =>
  new Promise<number>((resolvePort) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number }
      server.close(() => resolvePort(address.port))
    })
  })

/** The shell block of the README's HTTP API section. */
const readmeExample = (): string => {
  const readme = readFileSync(resolve(import.meta.dirname, "../README.md"), "utf8")
  const match = /<!-- api-example[^>]*-->\n```sh\n([\s\S]*?)```/.exec(readme)
  if (match === null) throw new Error("README.md has no api-example block")
  return match[1]!
}

describe("gleitzeit keys", () => {
  it("prints a new key once, stores only its hash with name and scopes, lists and revokes keys", async () => {
    const ws = workspace()
    try {
      ws.write("gleitzeit.yaml", "# my settings\nconcurrency: 4\n")
      const created = await run(["keys", "create", "ci", "--scope", "submit", "--scope", "read"], ws.opts)
      expect(created.code).toBe(0)
      const key = created.stdout.trim()
      expect(key).toMatch(/^gzk_[\w-]{43}$/)
      const config = readFileSync(join(ws.dir, "gleitzeit.yaml"), "utf8")
      expect(config).toContain("# my settings")
      expect(config).toMatch(/name: ci\n\s+hash: sha256:[0-9a-f]{64}\n\s+scopes:\n\s+- submit\n\s+- read/)
      expect(config).not.toContain(key)
      expect((await run(["keys", "create", "ci", "--scope", "read"], ws.opts)).code).toBe(2)
      expect((await run(["keys", "create", "x"], ws.opts)).code).toBe(2)
      expect((await run(["keys", "list"], ws.opts)).stdout).toBe("ci\tsubmit,read\n")
      expect((await run(["keys", "revoke", "ci"], ws.opts)).code).toBe(0)
      expect((await run(["keys", "list"], ws.opts)).stdout).toMatch(/^no API keys/)
      expect((await run(["keys", "revoke", "ci"], ws.opts)).code).toBe(3)
    } finally {
      ws.cleanup()
    }
  })
})

describe("gleitzeit serve", () => {
  it("runs the README's curl example as written", async () => {
    requireBuilt()
    const ws = workspace()
    try {
      const port = await freePort()
      mkdirSync(join(ws.dir, "examples"))
      copyFileSync(
        resolve(import.meta.dirname, "../examples/quickstart.yaml"),
        join(ws.dir, "examples/quickstart.yaml")
      )
      mkdirSync(join(ws.dir, "bin"))
      writeFileSync(join(ws.dir, "bin/gleitzeit"), `#!/bin/sh\nexec "${process.execPath}" "${bin}" "$@"\n`)
      chmodSync(join(ws.dir, "bin/gleitzeit"), 0o755)
      const script = readmeExample().replaceAll("127.0.0.1:8765", `127.0.0.1:${port}`)
      const child = spawn("bash", ["-euo", "pipefail", "-c", `${script}\necho\nkill %1\nwait`], {
        cwd: ws.dir,
        env: {
          ...process.env,
          PATH: `${join(ws.dir, "bin")}:${process.env["PATH"]}`,
          GLEITZEIT_DATABASE: ws.db,
          GLEITZEIT_API_PORT: String(port)
        },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      const code = await new Promise<number | null>((resolveCode) => child.on("close", resolveCode))
      expect(code, stderr).toBe(0)
      expect(stdout).toContain(`● serving the API on http://127.0.0.1:${port}`)
      const result = stdout.split("\n").find((line) => line.startsWith("{\"runId\""))
      expect(JSON.parse(result ?? "{}")).toMatchObject({
        status: "completed",
        done: true,
        outputs: { total: 105, report: "base=21 double=42 triple=63 total=105" }
      })
      expect(stdout).toContain("■ stopped")
    } finally {
      ws.cleanup()
    }
  })

  it("refuses to serve beyond loopback without a key, and listens there once a key exists", async () => {
    const ws = workspace()
    try {
      const refused = await run(["serve", "--listen", "0.0.0.0:0"], ws.opts)
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain("refusing to serve the API on 0.0.0.0 without a key")
      expect((await run(["keys", "create", "ops", "--scope", "admin"], ws.opts)).code).toBe(0)
      const port = await freePort()
      const served = start(["serve", "--listen", `0.0.0.0:${port}`], ws.opts)
      await served.waitFor(/serving the API on (\S+)/)
      const response = await fetch(`http://127.0.0.1:${port}/v1/runs`)
      expect(response.status).toBe(401)
      served.child.kill("SIGTERM")
      expect((await served.done).code).toBe(0)
    } finally {
      ws.cleanup()
    }
  })
})
