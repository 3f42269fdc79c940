/**
 * The sandbox a Python execution runs in: a container (`DockerSandbox`) or an OS sandbox (`LocalSandbox`). A
 * sandbox runs `python3 -I -c <script> <label>` with one line on stdin, isolated (no network, read-only
 * filesystem but a private /tmp, unprivileged) and limited (memory, CPU, processes, wall time), and removes
 * everything it started when the run ends, fails, times out or is interrupted.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { Health } from "./Provider.js"

/** Resource limits of one execution. */
export interface Limits {
  /** Memory (and swap) in MiB. */
  readonly memoryMb: number
  /** CPUs (fractions allowed). */
  readonly cpus: number
  /** Processes and threads. */
  readonly pids: number
}

/** One execution: a Python script given to `python3 -I -c`, fed `input` as one line on stdin. */
export interface Execution {
  /** The program (`-c`). */
  readonly script: string
  /** One line (no newline inside) written to the program's stdin. */
  readonly input: string
  /** `sys.argv[1]` and a container label: names the execution among host processes and containers. */
  readonly label: string
  /** Resource limits. */
  readonly limits: Limits
  /** Wall-time limit from the moment the program starts; then it is killed. */
  readonly timeout: Duration.Duration
  /** The program may run in a warm, reused environment (trusted code); otherwise in a fresh one. */
  readonly reuse: boolean
  /** Output kept from the start of each stream, in bytes. */
  readonly maxOutputBytes: number
  /** Output kept from the end of each stream, in bytes (the program's last words: its reply). */
  readonly tailBytes: number
}

/** Captured output of a stream: when longer than its limits, the middle is replaced by a one-line marker. */
export interface Output {
  readonly text: string
  /** Bytes left out of `text`. */
  readonly droppedBytes: number
}

/** How a program ended on its own (including being killed by the kernel's OOM killer). */
export interface Completed {
  readonly stdout: Output
  readonly stderr: Output
  /** The exit status; 128 + n when killed by signal n. */
  readonly exitCode: number
  /** Killed for exceeding the memory limit (cgroup OOM kill). */
  readonly oomKilled: boolean
  /** The container or process the program ran in. */
  readonly environment: string
  /** It ran in an environment that had served an earlier execution. */
  readonly reused: boolean
}

/** The sandbox cannot run anything (daemon unreachable, image or bubblewrap missing); `message` says how to fix it. */
export class SandboxUnavailable extends Data.TaggedError("SandboxUnavailable")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** The program ran past its timeout and was killed (the container or process group is gone). */
export class SandboxTimeout extends Data.TaggedError("SandboxTimeout")<{
  readonly timeout: Duration.Duration
  readonly stdout: Output
  readonly stderr: Output
}> {}

/** The sandbox failed in an unexpected way (an engine error, a failed spawn). */
export class SandboxFailed extends Data.TaggedError("SandboxFailed")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** Why a sandbox run failed. */
export type SandboxError = SandboxUnavailable | SandboxTimeout | SandboxFailed

/** Which kind of sandbox runs the code. */
export type Backend = "docker" | "local" | "none"

/** The sandbox service. */
export class Sandbox extends Context.Tag("@gleitzeit/providers/Sandbox")<Sandbox, {
  /** Which kind of sandbox this is. */
  readonly backend: Backend
  /** Runs a program to its end; interruption kills it and removes its container or process group. */
  readonly run: (execution: Execution) => Effect.Effect<Completed, SandboxError>
  /** Whether the sandbox can run programs now. */
  readonly health: Effect.Effect<Health>
}>() {}

/** A sandbox that runs nothing: every run fails with `SandboxUnavailable` carrying `message`. */
export const unavailable = (message: string): Context.Tag.Service<Sandbox> =>
  Sandbox.of({
    backend: "none",
    run: () => Effect.fail(new SandboxUnavailable({ message })),
    health: Effect.succeed({ status: "unhealthy", detail: message })
  })

/** A layer of `unavailable(message)`. */
export const layerUnavailable = (message: string): Layer.Layer<Sandbox> => Layer.succeed(Sandbox, unavailable(message))
