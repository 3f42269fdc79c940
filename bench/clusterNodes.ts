/**
 * Node processes of the cluster bench: `gleitzeit node` from the built CLI, started in a scratch directory whose
 * `gleitzeit.yaml` names the bench's database, each writing its output to `<name>.log` there. Every process started
 * here is stopped by its PID: `stop` (SIGTERM, SIGKILL after a grace period), `kill` (SIGKILL at once), and, should
 * the bench exit without doing so, a last SIGKILL from the exit hook.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createWriteStream, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join, resolve } from "node:path"
import { createInterface } from "node:readline"

const cli = resolve(import.meta.dirname, "../../packages/cli/dist/gleitzeit.mjs")

/** A running (or ended) node process. */
export interface NodeProcess {
  /** The node's name in the journal (`attempts.node`, `runs.owner`). */
  readonly name: string
  readonly pid: number
  readonly port: number
  /** Its stdout and stderr. */
  readonly logFile: string
  /** Resolves when the node printed its `● node … listening` line; rejects if it exits or times out first. */
  readonly ready: Promise<void>
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>
  /** True once the process has exited. */
  readonly hasExited: () => boolean
}

/** Node settings shared by every node of a bench cluster. */
export interface NodeSettings {
  /** The scratch directory: holds `gleitzeit.yaml` and the logs. */
  readonly dir: string
  /** Task attempts at once per node (`--concurrency`). */
  readonly concurrency: number
  /** Seconds a stopping node lets attempts in flight finish (`--drain-timeout`). */
  readonly drainTimeoutSeconds: number
  /** How long a node may take to print its ready line. */
  readonly readyTimeoutMs: number
}

const live = new Set<ChildProcess>()
process.on("exit", () => {
  for (const child of live) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  }
})

/** Writes the `gleitzeit.yaml` every node started in `dir` reads its database from. */
export const writeConfig = (dir: string, databaseUrl: string): void =>
  writeFileSync(join(dir, "gleitzeit.yaml"), `database: ${databaseUrl}\n`)

/** A TCP port that was free a moment ago on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no free port"))))
    })
  })

/** Starts `gleitzeit node --listen 127.0.0.1:<port> --name <name>` in the settings' directory. */
export const start = (name: string, port: number, settings: NodeSettings): NodeProcess => {
  const logFile = join(settings.dir, `${name}.log`)
  const log = createWriteStream(logFile)
  const env = { ...process.env }
  // The database comes from the scratch directory's gleitzeit.yaml, not from the bench's own environment.
  delete env.GLEITZEIT_DATABASE
  delete env.GLEITZEIT_REDIS
  // BENCH_NODE_PROF=DIR writes a CPU profile of each node there (when it stops gracefully).
  const profile = process.env["BENCH_NODE_PROF"]
  const child = spawn(process.execPath, [
    ...(profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`]),
    cli,
    "node",
    "--listen",
    `127.0.0.1:${port}`,
    "--name",
    name,
    "--concurrency",
    String(settings.concurrency),
    "--drain-timeout",
    String(settings.drainTimeoutSeconds),
    // The bench measures the cluster, not the HTTP API (and its ports are picked at random).
    "--api",
    "off"
  ], { cwd: settings.dir, env, stdio: ["ignore", "pipe", "pipe"] })
  if (child.pid === undefined) throw new Error(`node ${name} did not start`)
  live.add(child)
  child.stderr.pipe(log, { end: false })

  let exited = false
  const exitedPromise = new Promise<void>((resolveExit) =>
    // "close" comes after the output streams ended, so nothing is written to the log after it.
    child.once("close", (code, signal) => {
      exited = true
      live.delete(child)
      log.end(`\n[bench] node ${name} (pid ${child.pid}) exited: ${signal ?? `code ${code}`}\n`)
      resolveExit()
    })
  )
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`node ${name} printed no ready line within ${settings.readyTimeoutMs} ms (log: ${logFile})`))
    }, settings.readyTimeoutMs)
    const lines = createInterface({ input: child.stdout })
    lines.on("line", (line) => {
      log.write(`${line}\n`)
      if (line.includes(`● node ${name} listening on`)) {
        clearTimeout(timer)
        resolveReady()
      }
    })
    void exitedPromise.then(() => {
      clearTimeout(timer)
      reject(new Error(`node ${name} exited before it was ready (log: ${logFile})`))
    })
  })
  // A rejection nobody awaits (the node died later) must not end the bench.
  ready.catch(() => undefined)
  return { name, pid: child.pid, port, logFile, ready, exited: exitedPromise, hasExited: () => exited }
}

/** Stops a node as an operator would: SIGTERM (it drains), then SIGKILL if it is still running after `graceMs`. */
export const stop = async (node: NodeProcess, graceMs: number): Promise<void> => {
  if (node.hasExited()) return
  process.kill(node.pid, "SIGTERM")
  const timer = setTimeout(() => {
    if (!node.hasExited()) process.kill(node.pid, "SIGKILL")
  }, graceMs)
  await node.exited
  clearTimeout(timer)
}

/** Kills a node at once (SIGKILL, no drain); returns the time of the kill in ms since the epoch. */
export const kill = (node: NodeProcess): number => {
  const at = Date.now()
  process.kill(node.pid, "SIGKILL")
  return at
}

/** The last `lines` lines of a node's log. */
export const logTail = (node: NodeProcess, lines = 25): string => {
  try {
    return readFileSync(node.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n")
  } catch {
    return "(no log)"
  }
}
