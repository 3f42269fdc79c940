/**
 * Runs the built `gleitzeit` binary as a real child process.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

/** The built CLI entry point. */
export const bin = resolve(import.meta.dirname, "../../packages/cli/dist/gleitzeit.mjs")

/** Fails with a clear message when the CLI was not built (npm test builds it first). */
export const requireBuilt = (): void => {
  if (!existsSync(bin)) throw new Error(`the CLI is not built (${bin} missing): run 'npm run build' or 'npm test'`)
}

/** A scratch directory with its own journal: `opts` for running the CLI in it, `write` to put a file there. */
export const workspace = () => {
  const dir = mkdtempSync(join(tmpdir(), "gleitzeit-e2e-"))
  const db = join(dir, "journal.db")
  return {
    dir,
    db,
    opts: { cwd: dir, db },
    write: (name: string, text: string): string => {
      const file = join(dir, name)
      writeFileSync(file, text)
      return file
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}

/** The result of a finished CLI process. */
export interface Finished {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A running CLI process. */
export interface Running {
  readonly child: ChildProcess
  /** Everything printed on stdout so far. */
  readonly stdout: () => string
  /** Everything printed on stderr so far. */
  readonly stderr: () => string
  /** Resolves with the first stdout line matching `pattern`. */
  readonly waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>
  /** Resolves when the process exits. */
  readonly done: Promise<Finished>
}

/** How to start the CLI: where, with which journal, extra environment, and what to write on its stdin. */
export interface StartOptions {
  readonly cwd: string
  /** The journal (`GLEITZEIT_DATABASE`); undefined leaves it to the configuration. */
  readonly db: string | undefined
  /** Variables added to (or, when undefined, removed from) the environment. */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** Written to the process's stdin, which is then closed (default: no stdin). */
  readonly stdin?: string
}

/** Starts `gleitzeit ARGS` in `cwd` with the journal at `db`. */
export const start = (args: ReadonlyArray<string>, options: StartOptions): Running => {
  requireBuilt()
  const env: Record<string, string | undefined> = { ...process.env }
  if (options.db !== undefined) env["GLEITZEIT_DATABASE"] = options.db
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key]
    else env[key] = value
  }
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env,
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
  })
  if (options.stdin !== undefined) child.stdin!.end(options.stdin)
  let out = ""
  let err = ""
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = []
  const check = () => {
    for (const w of [...waiters]) {
      const match = out.match(w.pattern)
      if (match) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(match)
      }
    }
  }
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString()
    check()
  })
  child.stderr!.on("data", (chunk: Buffer) => {
    err += chunk.toString()
  })
  const done = new Promise<Finished>((resolveDone) => {
    child.on("close", (code, signal) => resolveDone({ code, signal, stdout: out, stderr: err }))
  })
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (pattern) =>
      new Promise((resolveMatch, reject) => {
        const match = out.match(pattern)
        if (match) return resolveMatch(match)
        waiters.push({ pattern, resolve: resolveMatch })
        void done.then((f) =>
          reject(new Error(`process exited (${f.code}) before printing ${pattern}:\n${f.stdout}\n${f.stderr}`))
        )
      }),
    done
  }
}

/** Runs `gleitzeit ARGS` to the end. */
export const run = (args: ReadonlyArray<string>, options: StartOptions): Promise<Finished> => start(args, options).done
