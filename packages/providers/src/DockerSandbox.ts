/**
 * The container sandbox, over a Docker engine (dockerode). Every container runs without network, on a read-only
 * root with a tmpfs /tmp, with memory = memory+swap, a pids limit, a CPU quota, all capabilities dropped,
 * no-new-privileges, as a non-root user, optionally under gVisor (`runtime: "runsc"`).
 *
 * Untrusted code gets a fresh container per execution (create → attach → start → wait → remove). Trusted code
 * runs by `exec` in a warm container from a pool per set of limits (an `RcMap` of `Pool`s, both with an idle
 * time-to-live; not `KeyedPool`, which runs every item's acquisition in the pool's own scope, so a retired
 * container would only be removed at shutdown): a container goes back to the pool only when the run ended
 * normally and no process of it is left; a timeout, an
 * interruption, an OOM kill or a leftover process retires it. Containers are removed by finalizers, so also when
 * the run times out or its fiber is interrupted; containers left behind by a crashed process of this host are
 * removed at start.
 */
import Docker from "dockerode"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Pool from "effect/Pool"
import * as RcMap from "effect/RcMap"
import * as Schedule from "effect/Schedule"
import { availableParallelism, hostname } from "node:os"
import { type Duplex, Writable } from "node:stream"
import { Capture } from "./internal/sandbox/capture.js"
import { healthy } from "./Provider.js"
import {
  type Completed,
  type Execution,
  type Limits,
  Sandbox,
  type SandboxError,
  SandboxFailed,
  SandboxTimeout,
  SandboxUnavailable
} from "./Sandbox.js"

/** Settings of the Docker sandbox. */
export interface Options {
  /** The engine's unix socket. */
  readonly socketPath: string
  /** The image: must contain `/usr/bin/python3` (see scripts/setup-test-infra.sh for a local build). */
  readonly image: string
  /** An OCI runtime registered with the engine, e.g. `runsc` for gVisor; the engine's default when absent. */
  readonly runtime?: string | undefined
  /** `uid:gid` the code runs as (never root). */
  readonly user: string
  /** Warm containers kept per distinct set of limits (trusted code). */
  readonly poolSize: number
  /** A warm container idle this long is removed. */
  readonly idleTimeToLive: Duration.Duration
  /** Size of the tmpfs on /tmp, in MiB. */
  readonly tmpfsMb: number
  /** Longest wait for a container to be created and started. */
  readonly startTimeout: Duration.Duration
}

/** The defaults: the standard socket, gleitzeit/python:3.11, nobody, 4 warm containers for 60 s, 64 MiB /tmp. */
export const defaults: Options = {
  socketPath: "/var/run/docker.sock",
  image: "gleitzeit/python:3.11",
  user: "65534:65534",
  poolSize: 4,
  idleTimeToLive: Duration.seconds(60),
  tmpfsMb: 64,
  startTimeout: Duration.seconds(30)
}

/** Label on every container of ours. */
export const sandboxLabel = "gleitzeit.sandbox"
/** Label naming the process that owns a container (`host/pid`). */
export const ownerLabel = "gleitzeit.owner"
/** Label with the execution's label (fresh containers). */
export const executionLabel = "gleitzeit.execution"

/** This process, as written in `ownerLabel`. */
export const owner = `${hostname()}/${process.pid}`

const python = "/usr/bin/python3"
const env = ["LANG=C.UTF-8", "HOME=/tmp", "PATH=/usr/bin:/bin"]
/** PID 1 of a warm container: sleeps, and reaps whatever is orphaned to it. */
const idle = "import signal\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\nwhile True:\n    signal.pause()"

const howToEnable = (options: Options) =>
  `start a Docker engine on ${options.socketPath} (apt-get install docker.io, then dockerd; ` +
  "scripts/setup-test-infra.sh shows a network-free setup) or use the local bubblewrap sandbox"

const errorCode = (cause: unknown): string | undefined => {
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

const statusCode = (cause: unknown): number | undefined => {
  const status = (cause as { statusCode?: unknown } | null)?.statusCode
  return typeof status === "number" ? status : undefined
}

const classify = (options: Options, what: string) => (cause: unknown): SandboxError => {
  const code = errorCode(cause)
  const detail = cause instanceof Error ? cause.message : String(cause)
  if (code === "ECONNREFUSED" || code === "ENOENT" || code === "EACCES" || code === "ECONNRESET") {
    return new SandboxUnavailable({
      message: `the Docker engine on ${options.socketPath} is unreachable (${code}); ${howToEnable(options)}`,
      cause
    })
  }
  if (statusCode(cause) === 404 && /no such image/i.test(detail)) {
    return new SandboxUnavailable({
      message: `the image ${options.image} is missing from the Docker engine; build it locally (see ` +
        "scripts/setup-test-infra.sh: debootstrap --variant=minbase --include=python3 bookworm, then docker import)",
      cause
    })
  }
  return new SandboxFailed({ message: `docker ${what} failed: ${detail}`, cause })
}

const hostConfig = (options: Options, limits: Limits): Docker.HostConfig => ({
  NetworkMode: "none",
  ReadonlyRootfs: true,
  Tmpfs: { "/tmp": `rw,nosuid,nodev,noexec,size=${options.tmpfsMb}m,mode=1777` },
  Memory: limits.memoryMb * 1024 * 1024,
  MemorySwap: limits.memoryMb * 1024 * 1024,
  PidsLimit: limits.pids,
  NanoCpus: Math.round(Math.min(limits.cpus, availableParallelism()) * 1e9),
  CapDrop: ["ALL"],
  SecurityOpt: ["no-new-privileges"],
  ...(options.runtime === undefined ? {} : { Runtime: options.runtime })
})

const poolKey = (limits: Limits) => `${limits.memoryMb}/${limits.cpus}/${limits.pids}`

const limitsOf = (key: string): Limits => {
  const [memoryMb, cpus, pids] = key.split("/").map(Number)
  return { memoryMb: memoryMb!, cpus: cpus!, pids: pids! }
}

/** `GET /_ping`, abortable (dockerode supports the signal; its type declarations miss it). */
const ping = (docker: Docker, abortSignal: AbortSignal): Promise<unknown> =>
  (docker.ping as unknown as (this: Docker, options: { abortSignal: AbortSignal }) => Promise<unknown>).call(docker, {
    abortSignal
  })

interface Attached {
  readonly stdout: Capture
  readonly stderr: Capture
  /** Resolves when the multiplexed stream ended (the program exited). */
  readonly ended: Promise<void>
}

const attach = (
  modem: Docker["modem"],
  stream: Duplex,
  execution: Pick<Execution, "maxOutputBytes" | "tailBytes">
): Attached => {
  const stdout = new Capture(execution.maxOutputBytes, execution.tailBytes)
  const stderr = new Capture(execution.maxOutputBytes, execution.tailBytes)
  const sink = (capture: Capture) =>
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        capture.push(chunk)
        done()
      }
    })
  modem.demuxStream(stream, sink(stdout), sink(stderr))
  const ended = new Promise<void>((resolve) => {
    stream.once("end", resolve)
    stream.once("close", resolve)
    stream.once("error", () => resolve())
  })
  return { stdout, stderr, ended }
}

/** The warm container had stopped (killed by an OOM of PID 1, removed from outside): retire it, try another. */
class StaleContainer extends Data.TaggedError("StaleContainer")<{ readonly id: string }> {}

interface Warm {
  readonly container: Docker.Container
  readonly id: string
  uses: number
}

/** Removes a container (killing it if it runs); retried, and logged rather than failed when impossible. */
const removeContainer = (options: Options, container: Docker.Container) =>
  Effect.tryPromise({
    try: () => container.remove({ force: true, v: true }),
    catch: classify(options, "remove")
  }).pipe(
    Effect.catchIf((error) => "cause" in error && statusCode(error.cause) === 404, () => Effect.void),
    Effect.retry({ times: 3, schedule: Schedule.spaced("200 millis") }),
    Effect.timeout(Duration.seconds(30)),
    Effect.catchAll((error) => Effect.logWarning(`could not remove sandbox container ${container.id}`, error.message)),
    Effect.asVoid
  )

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (cause) {
    return errorCode(cause) === "EPERM"
  }
}

/**
 * Checks that the engine answers and has the image; fails with `SandboxUnavailable` saying what to do otherwise.
 */
export const probe = (partial: Partial<Options> = {}): Effect.Effect<void, SandboxUnavailable> => {
  const options = { ...defaults, ...partial }
  const docker = new Docker({ socketPath: options.socketPath })
  const unavailable = (message: string) => (cause: unknown) => new SandboxUnavailable({ message, cause })
  const noAnswer = `the Docker engine on ${options.socketPath} does not answer; ${howToEnable(options)}`
  const noImage = `the image ${options.image} is missing from the Docker engine on ${options.socketPath}; build ` +
    "it locally (scripts/setup-test-infra.sh: debootstrap --variant=minbase --include=python3 bookworm, then " +
    "docker import)"
  return Effect.tryPromise({ try: (abortSignal) => ping(docker, abortSignal), catch: unavailable(noAnswer) }).pipe(
    Effect.timeoutFail({ duration: Duration.seconds(3), onTimeout: () => unavailable(noAnswer)(undefined) }),
    Effect.zipRight(
      Effect.tryPromise({ try: () => docker.getImage(options.image).inspect(), catch: unavailable(noImage) })
    ),
    Effect.asVoid
  )
}

/** Builds the sandbox; its warm pool and every container it made are removed when the scope closes. */
export const make = (partial: Partial<Options> = {}) =>
  Effect.gen(function*() {
    const options: Options = { ...defaults, ...partial }
    const docker = new Docker({ socketPath: options.socketPath })
    const call = <A>(what: string, f: (signal: AbortSignal) => Promise<A>) =>
      Effect.tryPromise({ try: f, catch: classify(options, what) })

    // Containers of crashed processes of this host (their owner pid is gone) are ours to remove.
    yield* call("list", (abortSignal) =>
      docker.listContainers({ all: true, filters: { label: [sandboxLabel] }, abortSignal })).pipe(
        Effect.flatMap((containers) =>
          Effect.forEach(containers, (info) => {
            const [host, pid] = (info.Labels[ownerLabel] ?? "").split("/")
            return host === hostname() && pid !== undefined && !isAlive(Number(pid))
              ? removeContainer(options, docker.getContainer(info.Id))
              : Effect.void
          }, { discard: true })
        ),
        Effect.timeout(Duration.seconds(5)),
        Effect.catchAll(() =>
          Effect.void
        )
      )

    const labels = (extra: Record<string, string>) => ({ [sandboxLabel]: "python", [ownerLabel]: owner, ...extra })

    const created = (what: string, create: (signal: AbortSignal) => Promise<Docker.Container>) =>
      Effect.acquireRelease(call(what, create), (container) => removeContainer(options, container))

    const startTimeout = <A, R>(what: string, effect: Effect.Effect<A, SandboxError, R>) =>
      effect.pipe(
        Effect.timeoutFail({
          duration: options.startTimeout,
          onTimeout: () =>
            new SandboxFailed({ message: `${what} took longer than ${Duration.format(options.startTimeout)}` })
        })
      )

    /** A warm container: started with an idle PID 1, checked to be running. */
    const acquireWarm = (key: string) =>
      startTimeout(
        "starting a warm container",
        Effect.gen(function*() {
          const container = yield* created("create", (abortSignal) =>
            docker.createContainer({
              Image: options.image,
              Cmd: [python, "-I", "-c", idle],
              User: options.user,
              WorkingDir: "/tmp",
              Env: env,
              NetworkDisabled: true,
              Labels: labels({ "gleitzeit.pool": key }),
              HostConfig: hostConfig(options, limitsOf(key)),
              abortSignal
            }))
          yield* call("start", (abortSignal) => container.start({ abortSignal }))
          const info = yield* call("inspect", (abortSignal) => container.inspect({ abortSignal }))
          if (!info.State.Running) {
            return yield* new SandboxFailed({ message: `warm container ${container.id} stopped: ${info.State.Status}` })
          }
          const warm: Warm = { container, id: container.id, uses: 0 }
          return warm
        })
      )

    const pools = yield* RcMap.make({
      lookup: (key: string) =>
        Pool.makeWithTTL({
          acquire: acquireWarm(key),
          min: 0,
          max: options.poolSize,
          timeToLive: options.idleTimeToLive
        }),
      idleTimeToLive: options.idleTimeToLive
    })

    const timedOut = (execution: Execution, attached: Attached) => () =>
      new SandboxTimeout({
        timeout: execution.timeout,
        stdout: attached.stdout.output(),
        stderr: attached.stderr.output()
      })

    /** Untrusted code: a container of its own, removed afterwards whatever happens. */
    const runFresh = (execution: Execution) =>
      Effect.scoped(
        Effect.gen(function*() {
          const container = yield* startTimeout(
            "creating a container",
            created("create", (abortSignal) =>
              docker.createContainer({
                Image: options.image,
                Cmd: [python, "-I", "-c", execution.script, execution.label],
                User: options.user,
                WorkingDir: "/tmp",
                Env: env,
                NetworkDisabled: true,
                OpenStdin: true,
                StdinOnce: true,
                AttachStdin: true,
                AttachStdout: true,
                AttachStderr: true,
                Labels: labels({ [executionLabel]: execution.label }),
                HostConfig: hostConfig(options, execution.limits),
                abortSignal
              }))
          )
          const stream = yield* Effect.acquireRelease(
            call(
              "attach",
              (abortSignal) =>
                container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true, abortSignal })
            ).pipe(Effect.map((s) => s as unknown as Duplex)),
            (s) => Effect.sync(() => s.destroy())
          )
          const attached = attach(docker.modem, stream, execution)
          yield* startTimeout("starting a container", call("start", (abortSignal) => container.start({ abortSignal })))
          stream.write(`${execution.input}\n`)
          yield* call("wait", (abortSignal) => container.wait({ abortSignal })).pipe(
            Effect.zipRight(Effect.promise(() => attached.ended)),
            Effect.timeoutFail({ duration: execution.timeout, onTimeout: timedOut(execution, attached) })
          )
          const info = yield* call("inspect", (abortSignal) => container.inspect({ abortSignal }))
          const completed: Completed = {
            stdout: attached.stdout.output(),
            stderr: attached.stderr.output(),
            exitCode: info.State.ExitCode,
            oomKilled: info.State.OOMKilled,
            environment: container.id,
            reused: false
          }
          return completed
        })
      )

    /** How many OOM kills the container's memory cgroup saw (cgroup v1 and v2). */
    const oomKills = (warm: Warm) =>
      Effect.scoped(
        Effect.gen(function*() {
          const exec = yield* call("exec", (abortSignal) =>
            warm.container.exec({
              Cmd: [
                python,
                "-I",
                "-c",
                "import re\nfor p in ('/sys/fs/cgroup/memory.events', '/sys/fs/cgroup/memory/memory.oom_control'):\n" +
                "    try:\n        print(re.search(r'oom_kill (\\d+)', open(p).read()).group(1)); break\n" +
                "    except Exception: pass"
              ],
              AttachStdout: true,
              AttachStderr: true,
              User: options.user,
              abortSignal
            }))
          const stream = yield* Effect.acquireRelease(
            call("exec start", (abortSignal) => exec.start({ hijack: true, stdin: false, abortSignal })).pipe(
              Effect.map((s) => s as unknown as Duplex)
            ),
            (s) => Effect.sync(() => s.destroy())
          )
          const attached = attach(docker.modem, stream, { maxOutputBytes: 1024, tailBytes: 0 })
          yield* Effect.promise(() => attached.ended)
          return Number(attached.stdout.output().text.trim()) || 0
        })
      ).pipe(
        Effect.timeout(Duration.seconds(10)),
        // The container itself may have died of it.
        Effect.catchAll(() =>
          Effect.map(
            call("inspect", (abortSignal) => warm.container.inspect({ abortSignal })),
            (info) => info.State.OOMKilled ? 1 : 0
          )
        ),
        Effect.orElseSucceed(() => 0)
      )

    /** Processes in the container besides PID 1. */
    const leftovers = (warm: Warm) =>
      call("top", (abortSignal) => warm.container.top({ ps_args: "-o pid", abortSignal })).pipe(
        Effect.map((top) => Math.max(0, ((top as { Processes?: Array<unknown> }).Processes ?? []).length - 1))
      )

    /** Trusted code: `exec` in a warm container from the pool; a container found dead is replaced once. */
    const runWarm = (execution: Execution) =>
      runInWarm(execution).pipe(
        Effect.retry({ times: 1, while: (error) => error instanceof StaleContainer }),
        Effect.catchIf(
          (error): error is StaleContainer => error instanceof StaleContainer,
          (error) => new SandboxFailed({ message: `warm container ${error.id} stopped`, cause: error })
        )
      )

    const runInWarm = (execution: Execution) =>
      Effect.scoped(
        Effect.gen(function*() {
          const pool = yield* RcMap.get(pools, poolKey(execution.limits))
          const warm = yield* Pool.get(pool)
          let keep = false
          // Runs before the pool takes the container back: anything but a clean, normal end retires it.
          yield* Effect.addFinalizer(() => keep ? Effect.void : Pool.invalidate(pool, warm))
          const reused = warm.uses > 0
          warm.uses++
          const exec = yield* call("exec", (abortSignal) =>
            warm.container.exec({
              Cmd: [python, "-I", "-c", execution.script, execution.label],
              AttachStdin: true,
              AttachStdout: true,
              AttachStderr: true,
              User: options.user,
              WorkingDir: "/tmp",
              Env: env,
              abortSignal
            })).pipe(
              Effect.catchIf(
                (error) => "cause" in error && statusCode(error.cause) === 409,
                () => new StaleContainer({ id: warm.id })
              )
            )
          const stream = yield* Effect.acquireRelease(
            call("exec start", (abortSignal) => exec.start({ hijack: true, stdin: true, abortSignal })).pipe(
              Effect.map((s) => s as unknown as Duplex)
            ),
            (s) => Effect.sync(() => s.destroy())
          )
          const attached = attach(docker.modem, stream, execution)
          stream.write(`${execution.input}\n`)
          // A timed-out exec cannot be killed alone: the finalizer retires (kills and removes) the container.
          yield* Effect.promise(() => attached.ended).pipe(
            Effect.timeoutFail({ duration: execution.timeout, onTimeout: timedOut(execution, attached) })
          )
          const exitCode = yield* call("exec inspect", (abortSignal) => exec.inspect({ abortSignal })).pipe(
            Effect.flatMap((info) =>
              info.Running || info.ExitCode === null
                ? Effect.fail(new SandboxFailed({ message: "exec still running after its stream ended" }))
                : Effect.succeed(info.ExitCode)
            ),
            Effect.retry({ times: 50, schedule: Schedule.spaced("10 millis") })
          )
          const oomKilled = exitCode === 137 && (yield* oomKills(warm)) > 0
          keep = exitCode !== 137 && (yield* leftovers(warm)) === 0
          const completed: Completed = {
            stdout: attached.stdout.output(),
            stderr: attached.stderr.output(),
            exitCode,
            oomKilled,
            environment: warm.id,
            reused
          }
          return completed
        })
      )

    return Sandbox.of({
      backend: "docker",
      run: (execution) => execution.reuse ? runWarm(execution) : runFresh(execution),
      health: call("ping", (abortSignal) => ping(docker, abortSignal)).pipe(
        Effect.timeout(Duration.seconds(3)),
        Effect.as(healthy),
        Effect.catchAll((error) =>
          Effect.succeed({
            status: "unhealthy" as const,
            detail: "message" in error ? error.message : `no answer from ${options.socketPath}`
          })
        )
      )
    })
  })

/** The Docker sandbox as a scoped layer. */
export const layer = (partial: Partial<Options> = {}): Layer.Layer<Sandbox> => Layer.scoped(Sandbox, make(partial))
