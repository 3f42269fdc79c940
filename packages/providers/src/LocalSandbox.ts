/**
 * The OS sandbox for hosts without Docker: the system's `/usr/bin/python3` inside bubblewrap (own user, PID,
 * network, IPC and UTS namespaces; only /usr mounted, read-only; a private tmpfs on /tmp; uid 65534; all
 * capabilities dropped) under `prlimit` (address space, CPU seconds, processes, file size, open files).
 *
 * Limits are given to prlimit in plain numbers: its `M`/`G` suffixes are misparsed by this util-linux (`--as=256M`
 * becomes 256 bytes and every program segfaults). The process limit (RLIMIT_NPROC) counts all processes of a host
 * uid and is not applied to root at all, so a runtime running as root starts each sandbox as a uid of its own,
 * taken in turn from an otherwise unused range: a fork bomb is stopped at its own limit, and concurrent or
 * just-ended runs do not eat into each other's (inside, the code still sees uid 65534). A runtime that is not root
 * runs the sandbox as itself, where the limit also counts the user's other processes.
 * Not enforced here: a CPU share (`cpus`) needs cgroups, use the Docker backend for that.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { type ChildProcess, spawn } from "node:child_process"
import { constants } from "node:os"
import { Capture } from "./internal/sandbox/capture.js"
import { healthy } from "./Provider.js"
import {
  type Completed,
  type Execution,
  Sandbox,
  SandboxFailed,
  SandboxTimeout,
  SandboxUnavailable
} from "./Sandbox.js"

/** Settings of the local sandbox. */
export interface Options {
  /** The interpreter (must live under /usr: only /usr is mounted). */
  readonly python: string
  /** bubblewrap. */
  readonly bwrap: string
  /** util-linux prlimit. */
  readonly prlimit: string
  /** First host uid (and gid) of the range sandboxes run as when the runtime runs as root. */
  readonly uidBase: number
  /** Size of that range: runs take its uids in turn. */
  readonly uidCount: number
  /** Largest file the program may write, in bytes. */
  readonly maxFileBytes: number
  /** Open files per process. */
  readonly maxOpenFiles: number
}

/** The defaults: Debian's paths, host uids 1900000000–1900065535, 10 MiB files, 64 open files. */
export const defaults: Options = {
  python: "/usr/bin/python3",
  bwrap: "/usr/bin/bwrap",
  prlimit: "/usr/bin/prlimit",
  uidBase: 1_900_000_000,
  uidCount: 65536,
  maxFileBytes: 10 * 1024 * 1024,
  maxOpenFiles: 64
}

const howToEnable = "install bubblewrap (apt-get install bubblewrap) and util-linux's prlimit"

/** The command line that runs `execution` (exported for the documentation and the benchmark). */
export const commandLine = (options: Options, execution: Execution): ReadonlyArray<string> => {
  const cpuSeconds = Math.ceil(Duration.toSeconds(execution.timeout)) + 1
  return [
    options.prlimit,
    `--as=${execution.limits.memoryMb * 1024 * 1024}`,
    `--cpu=${cpuSeconds}`,
    `--nproc=${execution.limits.pids}`,
    `--fsize=${options.maxFileBytes}`,
    `--nofile=${options.maxOpenFiles}`,
    "--",
    options.bwrap,
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--symlink",
    "usr/bin",
    "/bin",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--remount-ro",
    "/",
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    "--cap-drop",
    "ALL",
    "--uid",
    "65534",
    "--gid",
    "65534",
    "--clearenv",
    "--setenv",
    "LANG",
    "C.UTF-8",
    "--setenv",
    "HOME",
    "/tmp",
    "--setenv",
    "PATH",
    "/usr/bin:/bin",
    "--chdir",
    "/tmp",
    options.python,
    "-I",
    "-c",
    execution.script,
    execution.label
  ]
}

const isRoot = (): boolean => process.getuid?.() === 0

const exitStatus = (code: number | null, signal: NodeJS.Signals | null): number =>
  code ?? 128 + (signal === null ? 0 : constants.signals[signal] ?? 0)

interface Running {
  readonly child: ChildProcess
  readonly stdout: Capture
  readonly stderr: Capture
  /** Resolves with the exit status once the process and its pipes closed. */
  readonly closed: Promise<number>
}

/** Kills the process group (prlimit → bwrap; bwrap's death takes the sandbox's PID namespace with it). */
const killGroup = (running: Running) =>
  Effect.promise(async () => {
    const pid = running.child.pid
    if (pid === undefined || running.child.exitCode !== null || running.child.signalCode !== null) return
    try {
      process.kill(-pid, "SIGKILL")
    } catch {
      // already gone
    }
    await running.closed.catch(() => undefined)
  })

const start = (options: Options, execution: Execution, uid: number) =>
  Effect.try({
    try: (): Running => {
      const [command, ...args] = commandLine(options, execution)
      const child = spawn(command!, args, {
        stdio: ["pipe", "pipe", "pipe"],
        detached: true,
        cwd: "/",
        env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
        ...(isRoot() ? { uid, gid: uid } : {})
      })
      const stdout = new Capture(execution.maxOutputBytes, execution.tailBytes)
      const stderr = new Capture(execution.maxOutputBytes, execution.tailBytes)
      child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk))
      child.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk))
      child.stdin!.on("error", () => {
        // the program exited before reading its input; its exit status tells why
      })
      const closed = new Promise<number>((resolve, reject) => {
        child.once("error", reject)
        child.once("close", (code, signal) => resolve(exitStatus(code, signal)))
      })
      closed.catch(() => undefined)
      child.stdin!.end(`${execution.input}\n`)
      return { child, stdout, stderr, closed }
    },
    catch: (cause) => new SandboxFailed({ message: `cannot start ${options.bwrap}: ${String(cause)}`, cause })
  })

/** Runs one execution in a fresh sandbox; the process group is killed on timeout and interruption. */
const run = (options: Options) => {
  let runs = 0
  const nextUid = Effect.sync(() => options.uidBase + (runs++ % options.uidCount))
  return (execution: Execution) =>
    Effect.scoped(
      Effect.gen(function*() {
        const uid = yield* nextUid
        const running = yield* Effect.acquireRelease(start(options, execution, uid), killGroup)
        const status = yield* Effect.tryPromise({
          try: () => running.closed,
          catch: (cause) => new SandboxFailed({ message: `${options.bwrap} failed: ${String(cause)}`, cause })
        }).pipe(
          Effect.timeoutFail({
            duration: execution.timeout,
            onTimeout: () =>
              new SandboxTimeout({
                timeout: execution.timeout,
                stdout: running.stdout.output(),
                stderr: running.stderr.output()
              })
          })
        )
        // SIGXCPU: the CPU-seconds limit (derived from the timeout) ran out before the wall clock did.
        if (status === 128 + constants.signals.SIGXCPU) {
          return yield* new SandboxTimeout({
            timeout: execution.timeout,
            stdout: running.stdout.output(),
            stderr: running.stderr.output()
          })
        }
        const completed: Completed = {
          stdout: running.stdout.output(),
          stderr: running.stderr.output(),
          exitCode: status,
          oomKilled: false,
          environment: `pid ${running.child.pid}`,
          reused: false
        }
        return completed
      })
    )
}

/**
 * Builds the sandbox after checking that it works: a trial run of `print("ok")` inside it. Fails with
 * `SandboxUnavailable` (saying what to install) when bubblewrap, prlimit or the interpreter is missing or broken.
 */
export const make = (partial: Partial<Options> = {}): Effect.Effect<typeof Sandbox.Service, SandboxUnavailable> =>
  Effect.gen(function*() {
    const options = { ...defaults, ...partial }
    const runOne = run(options)
    const probe = yield* runOne({
      script: "print('ok')",
      input: "",
      label: "gleitzeit-probe",
      limits: { memoryMb: 256, cpus: 1, pids: 16 },
      timeout: Duration.seconds(10),
      reuse: false,
      maxOutputBytes: 4096,
      tailBytes: 0
    }).pipe(Effect.exit)
    if (Exit.isFailure(probe) || probe.value.exitCode !== 0 || probe.value.stdout.text.trim() !== "ok") {
      const detail = Exit.isFailure(probe)
        ? String(probe.cause)
        : `exit ${probe.value.exitCode}: ${probe.value.stderr.text.trim().slice(0, 500)}`
      return yield* new SandboxUnavailable({
        message: `the local sandbox (${options.bwrap} + ${options.prlimit} + ${options.python}) does not work: ` +
          `${detail}; ${howToEnable}`
      })
    }
    return Sandbox.of({ backend: "local", run: runOne, health: Effect.succeed(healthy) })
  })

/** The local sandbox as a layer (fails with `SandboxUnavailable` when it cannot work on this host). */
export const layer = (partial: Partial<Options> = {}): Layer.Layer<Sandbox, SandboxUnavailable> =>
  Layer.effect(Sandbox, make(partial))
