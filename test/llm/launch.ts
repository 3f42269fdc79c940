/**
 * Starts the LLM test server (`server.ts`) as a child process for tests:
 *
 *   const llm = await startLlmServer({ models: ["tiny-chat", "tiny-embed"] })
 *   fetch(`${llm.url}/api/chat`, …)            // Ollama API; `${llm.url}/v1` is the OpenAI-compatible base URL
 *   await llm.fault({ path: "/api/chat", status: 429, retryAfter: 1 })
 *   await llm.waitFor((s) => s.aborted === 1)   // the server saw the client close its socket
 *   await llm.stop()
 *
 * The server is bundled with esbuild (a root devDependency) into `node_modules/.cache/gleitzeit-llm/` next to
 * node-llama-cpp, so it runs on plain Node 20 from a fresh clone. node-llama-cpp's install script is not allowed
 * (package.json `allowScripts`): its prebuilt CPU binary (`@node-llama-cpp/linux-x64`) loads without it, and the
 * CUDA/Vulkan builds are replaced by an empty package through `overrides`. A missing or broken node-llama-cpp
 * makes `startLlmServer` reject with an error naming it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import type { FaultSpec, Stats } from "./protocol.js"

export type { AbortRecord, FaultSpec, Stats } from "./protocol.js"

/** Options of {@link startLlmServer}. */
export interface LlmServerOptions {
  /** Model names to serve (default `tiny-chat`, `tiny-code`, `tiny-embed`, `fail-midstream`). */
  readonly models?: ReadonlyArray<string>
  /** Port on 127.0.0.1 (default 0: a free one). */
  readonly port?: number
  /** How long to wait for `LISTENING` (default 60 s). */
  readonly timeoutMs?: number
}

/** A running LLM test server. */
export interface LlmServer {
  /** `http://127.0.0.1:<port>`: the Ollama base URL; add `/v1` for the OpenAI-compatible API. */
  readonly url: string
  readonly port: number
  readonly pid: number
  /** Canonical names of the served models (`tiny-chat:latest`, …). */
  readonly models: ReadonlyArray<string>
  /** Milliseconds from spawn to `LISTENING`. */
  readonly startupMs: number
  /** The server's statistics (`GET /__test/stats`). */
  readonly stats: () => Promise<Stats>
  /** Polls the statistics until `predicate` holds (default timeout 10 s); resolves with them. */
  readonly waitFor: (predicate: (stats: Stats) => boolean, timeoutMs?: number) => Promise<Stats>
  /** Injects a fault into the next matching requests. */
  readonly fault: (spec: FaultSpec) => Promise<void>
  /** Removes all faults. */
  readonly clearFaults: () => Promise<void>
  /** Clears the statistics and the faults. */
  readonly reset: () => Promise<void>
  /** Sends a signal to the process at once (SIGKILL by default), e.g. to test failover. */
  readonly kill: (signal?: NodeJS.Signals) => void
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for the process to exit. */
  readonly stop: () => Promise<void>
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<number | string>
}

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, "../..")
let bundled: Promise<string> | undefined

/** Bundles `server.ts` once per process into node_modules/.cache (content-addressed, written atomically). */
export const bundleServer = (): Promise<string> => {
  bundled ??= (async () => {
    const esbuild = await import("esbuild")
    const result = await esbuild.build({
      entryPoints: [join(here, "server.ts")],
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      target: "node20",
      external: ["node-llama-cpp"],
      logLevel: "silent"
    })
    const code = result.outputFiles[0]!.contents
    const dir = join(root, "node_modules", ".cache", "gleitzeit-llm")
    const file = join(dir, `server-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`)
    if (!existsSync(file)) {
      mkdirSync(dir, { recursive: true })
      const temporary = `${file}.${process.pid}.tmp`
      writeFileSync(temporary, code)
      renameSync(temporary, file)
    }
    return file
  })()
  return bundled
}

/** Starts an LLM test server process and resolves once it listens. */
export const startLlmServer = async (options: LlmServerOptions = {}): Promise<LlmServer> => {
  const script = await bundleServer()
  const models = options.models ?? ["tiny-chat", "tiny-code", "tiny-embed", "fail-midstream"]
  const args = [script, "--models", models.join(","), "--port", String(options.port ?? 0), "--exit-with-stdin"]
  const begun = performance.now()
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["pipe", "pipe", "pipe"] })
  let stderr = ""
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000)
  })
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"))
  })
  const port = await listening(child, exited, options.timeoutMs ?? 60_000, () => stderr)
  const url = `http://127.0.0.1:${port}`
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    })
    if (!response.ok) {
      throw new Error(`LLM test server ${method} ${path}: HTTP ${response.status} ${await response.text()}`)
    }
    return response.json() as Promise<unknown>
  }
  const stats = () => call("GET", "/__test/stats") as Promise<Stats>
  return {
    url,
    port,
    pid: child.pid!,
    models: models.map((name) => (name.includes(":") ? name : `${name}:latest`)),
    startupMs: Math.round(performance.now() - begun),
    stats,
    waitFor: async (predicate, timeoutMs = 10_000) => {
      const deadline = performance.now() + timeoutMs
      for (;;) {
        const current = await stats()
        if (predicate(current)) return current
        if (performance.now() > deadline) {
          throw new Error(`LLM test server: condition not met within ${timeoutMs} ms; stats ${JSON.stringify(current)}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    fault: async (spec) => {
      await call("POST", "/__test/faults", spec)
    },
    clearFaults: async () => {
      await call("DELETE", "/__test/faults")
    },
    reset: async () => {
      await call("POST", "/__test/reset")
    },
    kill: (signal = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal)
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      process.kill(child.pid!, "SIGTERM")
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL")
      }, 5_000)
      await exited
      clearTimeout(timer)
    },
    exited
  }
}

/** Waits for `LISTENING <port>`; rejects naming node-llama-cpp when the process dies or times out first. */
const listening = (child: ChildProcess, exited: Promise<number | string>, timeoutMs: number, stderr: () => string) =>
  new Promise<number>((resolve, reject) => {
    let stdout = ""
    const fail = (why: string) => {
      clearTimeout(timer)
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL")
      reject(new Error(`LLM test server (node-llama-cpp) did not start: ${why}\n${stderr()}`))
    }
    const timer = setTimeout(() => fail(`no LISTENING line within ${timeoutMs} ms`), timeoutMs)
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
      const match = /LISTENING (\d+)/.exec(stdout)
      if (match) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    })
    child.on("error", (error) => fail(error.message))
    void exited.then((code) => fail(`the process exited (${code})`))
  })
