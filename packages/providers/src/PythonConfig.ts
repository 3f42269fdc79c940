/**
 * Settings of the Python provider: which sandbox backend, the limits a task gets and may ask for, output and
 * result sizes, the largest `file`, and the Docker and bubblewrap sandboxes' own settings. `config`
 * reads them from a `python` section (snake_case keys, every key with a default), for an executable's main.
 */
import { PythonProtocol } from "@gleitzeit/core"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as DockerSandbox from "./DockerSandbox.js"
import * as LocalSandbox from "./LocalSandbox.js"
import type * as Sandbox from "./Sandbox.js"

/** Which sandbox runs the code: `auto` takes Docker when its engine answers (with the image), else bubblewrap. */
export type Backend = "auto" | "docker" | "local"

/** Settings of the Python provider. */
export interface Settings {
  /** The sandbox backend. */
  readonly backend: Backend
  /** Limits of a task that gives none. */
  readonly defaultLimits: Sandbox.Limits
  /** The largest limits a task may ask for. */
  readonly maxLimits: Sandbox.Limits
  /** Timeout of a task that gives none. */
  readonly defaultTimeout: Duration.Duration
  /** The longest timeout a task may ask for. */
  readonly maxTimeout: Duration.Duration
  /** Whether code counts as trusted (may run in a reused warm container) when a task does not say. */
  readonly trustedByDefault: boolean
  /** stdout and stderr kept per run, in bytes each (the rest is dropped, with a marker). */
  readonly maxOutputBytes: number
  /** The largest `result`, in bytes of JSON. */
  readonly maxResultBytes: number
  /** The largest `file`, in bytes. */
  readonly maxFileBytes: number
  /** The Docker sandbox. */
  readonly docker: DockerSandbox.Options
  /** The local (bubblewrap) sandbox. */
  readonly local: LocalSandbox.Options
}

/** Settings with every key optional, the sandboxes' too. */
export type PartialSettings = Partial<Omit<Settings, "docker" | "local">> & {
  readonly docker?: Partial<DockerSandbox.Options>
  readonly local?: Partial<LocalSandbox.Options>
}

/** The defaults: auto backend, 256 MiB / 1 CPU / 64 processes / 30 s per run, untrusted, 1 MiB output. */
export const defaults: Settings = {
  backend: "auto",
  defaultLimits: {
    memoryMb: PythonProtocol.defaults.memory_mb,
    cpus: PythonProtocol.defaults.cpus,
    pids: PythonProtocol.defaults.pids
  },
  maxLimits: { memoryMb: 4096, cpus: 4, pids: 1024 },
  defaultTimeout: Duration.seconds(PythonProtocol.defaults.timeout),
  maxTimeout: Duration.hours(1),
  trustedByDefault: false,
  maxOutputBytes: 1024 * 1024,
  maxResultBytes: 16 * 1024 * 1024,
  maxFileBytes: 1024 * 1024,
  docker: DockerSandbox.defaults,
  local: LocalSandbox.defaults
}

/** The defaults overridden by `partial` (the sandboxes' settings key by key). */
export const settings = (partial: PartialSettings = {}): Settings => ({
  ...defaults,
  ...partial,
  docker: { ...defaults.docker, ...partial.docker },
  local: { ...defaults.local, ...partial.local }
})

/** Settings of the Python provider. */
export class PythonConfig extends Context.Tag("@gleitzeit/providers/PythonConfig")<PythonConfig, Settings>() {
  /** The defaults. */
  static readonly defaults = defaults
  /** A layer with the defaults overridden by `partial`. */
  static readonly layer = (partial: PartialSettings = {}): Layer.Layer<PythonConfig> =>
    Layer.succeed(PythonConfig, settings(partial))
}

const positive = (name: string, fallback: number, description: string) =>
  Config.number(name).pipe(
    Config.validate({ message: "must be above 0", validation: (n) => n > 0 }),
    Config.withDefault(fallback),
    Config.withDescription(description)
  )

const integer = (name: string, fallback: number, description: string) =>
  Config.integer(name).pipe(
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(fallback),
    Config.withDescription(description)
  )

const text = (name: string, fallback: string, description: string) =>
  Config.string(name).pipe(Config.withDefault(fallback), Config.withDescription(description))

const limits = (prefix: string, fallback: Sandbox.Limits, what: string) =>
  Config.all({
    memoryMb: integer(`${prefix}memory_mb`, fallback.memoryMb, `${what}: memory (and swap) in MiB`),
    cpus: positive(`${prefix}cpus`, fallback.cpus, `${what}: CPUs`),
    pids: integer(`${prefix}pids`, fallback.pids, `${what}: processes and threads`)
  })

/**
 * The settings as configuration keys (nest it, e.g. `Config.nested(config, "python")`):
 * `backend`, `timeout`, `max_timeout` (s), `memory_mb`, `cpus`, `pids`, `max_memory_mb`, `max_cpus`, `max_pids`,
 * `trusted`, `max_output_bytes`, `max_result_bytes`, `max_file_bytes`, `docker.{socket, image,
 * runtime, user, pool_size, idle_ttl, tmpfs_mb}`, `local.{python, bwrap, prlimit}`.
 */
export const config: Config.Config<Settings> = Config.all({
  backend: Config.literal("auto", "docker", "local")("backend").pipe(
    Config.withDefault("auto" as const),
    Config.withDescription("sandbox: docker, local (bubblewrap) or auto (docker when it answers, else local)")
  ),
  defaultLimits: limits("", defaults.defaultLimits, "default limit of a task"),
  maxLimits: limits("max_", defaults.maxLimits, "largest limit a task may ask for"),
  timeout: positive("timeout", Duration.toSeconds(defaults.defaultTimeout), "default timeout of a task (s)"),
  maxTimeout: positive("max_timeout", Duration.toSeconds(defaults.maxTimeout), "largest timeout a task may ask (s)"),
  trustedByDefault: Config.boolean("trusted").pipe(
    Config.withDefault(defaults.trustedByDefault),
    Config.withDescription("code counts as trusted (may reuse warm containers) unless a task says otherwise")
  ),
  maxOutputBytes: integer("max_output_bytes", defaults.maxOutputBytes, "stdout and stderr kept per run (bytes)"),
  maxResultBytes: integer("max_result_bytes", defaults.maxResultBytes, "largest result (bytes of JSON)"),
  maxFileBytes: integer("max_file_bytes", defaults.maxFileBytes, "largest `file` (bytes)"),
  docker: Config.all({
    socketPath: text("socket", defaults.docker.socketPath, "unix socket of the Docker engine"),
    image: text("image", defaults.docker.image, "image with /usr/bin/python3"),
    runtime: Config.option(Config.string("runtime")).pipe(
      Config.withDescription("OCI runtime, e.g. runsc for gVisor (default: the engine's)")
    ),
    user: text("user", defaults.docker.user, "uid:gid the code runs as (not root)"),
    poolSize: integer("pool_size", defaults.docker.poolSize, "warm containers per set of limits"),
    idleTtl: positive("idle_ttl", Duration.toSeconds(defaults.docker.idleTimeToLive), "idle warm container kept (s)"),
    tmpfsMb: integer("tmpfs_mb", defaults.docker.tmpfsMb, "size of /tmp in MiB")
  }).pipe(Config.nested("docker")),
  local: Config.all({
    python: text("python", defaults.local.python, "interpreter (under /usr)"),
    bwrap: text("bwrap", defaults.local.bwrap, "bubblewrap"),
    prlimit: text("prlimit", defaults.local.prlimit, "util-linux prlimit")
  }).pipe(Config.nested("local"))
}).pipe(
  Config.map((c): Settings => ({
    ...defaults,
    backend: c.backend,
    defaultLimits: c.defaultLimits,
    maxLimits: c.maxLimits,
    defaultTimeout: Duration.seconds(c.timeout),
    maxTimeout: Duration.seconds(c.maxTimeout),
    trustedByDefault: c.trustedByDefault,
    maxOutputBytes: c.maxOutputBytes,
    maxResultBytes: c.maxResultBytes,
    maxFileBytes: c.maxFileBytes,
    docker: {
      ...defaults.docker,
      socketPath: c.docker.socketPath,
      image: c.docker.image,
      ...Option.match(c.docker.runtime, { onNone: () => ({}), onSome: (runtime) => ({ runtime }) }),
      user: c.docker.user,
      poolSize: c.docker.poolSize,
      idleTimeToLive: Duration.seconds(c.docker.idleTtl),
      tmpfsMb: c.docker.tmpfsMb
    },
    local: { ...defaults.local, ...c.local }
  }))
)

/** A layer reading `config` (or a nested copy of it) from the ConfigProvider in context, set up by main. */
export const layerConfig = (
  descriptor: Config.Config<Settings> = config
): Layer.Layer<PythonConfig, ConfigError.ConfigError> => Layer.effect(PythonConfig, descriptor)
