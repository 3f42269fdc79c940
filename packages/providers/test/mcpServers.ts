/**
 * The real MCP servers of the tests (npm packages, offline): where they are, how to start them over stdio, and
 * server-everything over Streamable HTTP on 127.0.0.1. A missing package fails the test naming it.
 */
import type { McpConfig } from "@gleitzeit/providers"
import * as Duration from "effect/Duration"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

const root = resolve(import.meta.dirname, "../../..")
const fixtures = resolve(import.meta.dirname, "fixtures")

/** The server packages the MCP tests need (root devDependencies). */
export const packages = ["server-everything", "server-filesystem", "server-memory"] as const

/** The entry script of a server package; throws naming the package when it is not installed. */
export const serverScript = (name: (typeof packages)[number]): string => {
  const script = join(root, "node_modules", "@modelcontextprotocol", name, "dist", "index.js")
  if (!existsSync(script)) {
    throw new Error(`MCP server package @modelcontextprotocol/${name} is not installed (run npm install): ${script}`)
  }
  return script
}

/** Fails (naming them) when any server package is missing. */
export const requireServers = (): void => {
  for (const p of packages) serverScript(p)
}

/** A server declaration for tests. */
export const server = (name: string, transport: McpConfig.Server["transport"]): McpConfig.Server => ({
  name,
  transport,
  connectTimeout: Duration.seconds(20),
  requestTimeout: Duration.seconds(60),
  retryDestructive: false
})

/** A temporary directory removed by `cleanup`. */
export const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** server-everything over stdio behind a tee that logs what reaches its stdin and writes its pid to a file. */
export const everythingTeed = (dir: string) => {
  const log = join(dir, "everything-stdin.log")
  const pidFile = join(dir, "everything.pid")
  return {
    log,
    pid: () => Number(readFileSync(pidFile, "utf8")),
    /** Every JSON-RPC message the server received so far. */
    received: (): Array<{ method?: string; id?: number; params?: Record<string, unknown> }> =>
      existsSync(log)
        ? readFileSync(log, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))
        : [],
    transport: {
      _tag: "stdio" as const,
      command: process.execPath,
      args: [join(fixtures, "mcp-tee.mjs"), log, pidFile, serverScript("server-everything")]
    }
  }
}

/** server-filesystem over stdio, rooted at `dir`. */
export const filesystem = (dir: string) => ({
  _tag: "stdio" as const,
  command: process.execPath,
  args: [serverScript("server-filesystem"), dir]
})

/** server-memory over stdio, storing its graph in `file`. */
export const memory = (file: string) => ({
  _tag: "stdio" as const,
  command: process.execPath,
  args: [serverScript("server-memory")],
  env: { MEMORY_FILE_PATH: file }
})

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((ok, ko) => {
    const s = createServer()
    s.once("error", ko)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => ok(port))
    })
  })

/**
 * server-everything serving Streamable HTTP, forced onto 127.0.0.1; `address` is what it bound. With `requestLog`,
 * every request body it receives is appended to that file.
 */
export const startEverythingHttp = async (fixedPort?: number, requestLog?: string) => {
  const script = serverScript("server-everything")
  const port = fixedPort ?? await freePort()
  const child = spawn(process.execPath, ["-r", join(fixtures, "listen-loopback.cjs"), script, "streamableHttp"], {
    env: { ...process.env, PORT: String(port), ...(requestLog === undefined ? {} : { MCP_REQUEST_LOG: requestLog }) },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  const address = await new Promise<string>((ok, ko) => {
    const timer = setTimeout(() => ko(new Error(`server-everything (HTTP) did not start: ${stderr}`)), 20_000)
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      const m = /LISTENING (\S+) (\d+)/.exec(stderr)
      if (m !== null) {
        clearTimeout(timer)
        ok(m[1]!)
      }
    })
    child.once("exit", (code) => ko(new Error(`server-everything (HTTP) exited with ${code}: ${stderr}`)))
  })
  return {
    port,
    address,
    url: `http://127.0.0.1:${port}/mcp`,
    close: () =>
      new Promise<void>((ok) => {
        if (child.exitCode !== null) return ok()
        child.once("exit", () => ok())
        child.kill("SIGTERM")
      })
  }
}
