/**
 * `python/execute` and `python/validate`: Python code run in a `Sandbox` (Docker or bubblewrap), never in this
 * process. A small runner inside the sandbox reads `{code, context}` from stdin, executes the code with `context`
 * among its globals and replies with the code's top-level `result` (or the exception's type, message and
 * traceback) after a marker on stdout.
 *
 * How a run ended decides the failure: a Python exception → `ExecutionFailed` with the traceback; a non-zero
 * exit → `ExecutionFailed` with the exit code; the timeout → `Timeout` (container or process group killed); the
 * memory limit → `OutOfMemory` (OOM kill, or `MemoryError` under the address-space limit); a file outside the
 * allowed roots → `SandboxViolation`; no usable sandbox → `Unavailable`, saying how to enable one. Forbidden
 * operations (network, writes outside /tmp) fail inside Python, so they surface as that exception.
 */
import { type Json, Protocol, ProviderError, PythonProtocol } from "@gleitzeit/core"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as DockerSandbox from "./DockerSandbox.js"
import * as Runner from "./internal/python/runner.js"
import * as LocalSandbox from "./LocalSandbox.js"
import * as PathPolicy from "./PathPolicy.js"
import type { ExecuteContext, Provider } from "./Provider.js"
import * as ProviderRegistry from "./ProviderRegistry.js"
import { type PartialSettings, PythonConfig } from "./PythonConfig.js"
import * as Sandbox from "./Sandbox.js"

const enableHint = "enable one: install docker.io and start dockerd (with an image holding /usr/bin/python3, see " +
  "scripts/setup-test-infra.sh), or apt-get install bubblewrap"

/** The sandbox the settings ask for; when none can work, a sandbox whose every run says how to enable one. */
export const layerSandbox: Layer.Layer<Sandbox.Sandbox, never, PythonConfig> = Layer.unwrapScoped(
  Effect.gen(function*() {
    const config = yield* PythonConfig
    switch (config.backend) {
      case "docker":
        return DockerSandbox.layer(config.docker)
      case "local":
        return LocalSandbox.layer(config.local).pipe(
          Layer.catchAll((error) => Sandbox.layerUnavailable(`${error.message}; ${enableHint}`))
        )
      case "auto": {
        const docker = yield* Effect.either(DockerSandbox.probe(config.docker))
        if (Either.isRight(docker)) {
          yield* Effect.logDebug(`python sandbox: docker on ${config.docker.socketPath} (${config.docker.image})`)
          return DockerSandbox.layer(config.docker)
        }
        const local = yield* Effect.either(LocalSandbox.make(config.local))
        if (Either.isRight(local)) {
          yield* Effect.logDebug(`python sandbox: bubblewrap (docker: ${docker.left.message})`)
          return Layer.succeed(Sandbox.Sandbox, local.right)
        }
        const message = `no Python sandbox is available (docker: ${docker.left.message}; local: ` +
          `${local.left.message}); ${enableHint}`
        yield* Effect.logWarning(message)
        return Sandbox.layerUnavailable(message)
      }
    }
  })
)

const provider = "python"

const failure = (method: string, reason: ProviderError.Reason, message: string, cause?: unknown) =>
  ProviderError.make({ provider, method, reason, message, cause })

const tail = (text: string, max = 2000) => text.length <= max ? text : `…${text.slice(text.length - max)}`

/** Keeps the first `max` bytes of the code's output (the sandbox keeps more, so that the reply survives). */
const clip = (text: string, max: number) => {
  const bytes = Buffer.byteLength(text)
  if (bytes <= max) return text
  const kept = Buffer.from(text).subarray(0, max).toString("utf8")
  return `${kept}\n[… ${bytes - max} bytes of output dropped …]\n`
}

const sanitize = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60)

/** Builds the provider over the `Sandbox` in context. */
export const make = Effect.gen(function*() {
  const config = yield* PythonConfig
  const sandbox = yield* Sandbox.Sandbox
  const files = yield* PathPolicy.PathPolicy

  const utf8 = new TextDecoder("utf-8", { fatal: true })

  /** A `file` read on the host through the path policy; it must be UTF-8 text (quoted nowhere if it is not). */
  const readSource = (method: string, file: string) =>
    files.readFile(file, { maxBytes: config.maxFileBytes }).pipe(
      Effect.mapError(PathPolicy.toProviderError(provider, method)),
      Effect.flatMap((read) =>
        Effect.try({
          try: () => ({ source: utf8.decode(read.bytes), filename: read.path, fromFile: true }),
          catch: () => failure(method, { _tag: "InvalidParams" }, `the file '${file}' is not UTF-8 text, so not Python`)
        })
      )
    )

  const sourceOf = (method: string, p: { readonly code?: string | undefined; readonly file?: string | undefined }) =>
    p.file !== undefined
      ? readSource(method, p.file)
      : Effect.succeed({ source: p.code ?? "", filename: "<code>", fromFile: false })

  const limitsOf = (method: string, requested: PythonProtocol.Limits) => {
    const limits: Sandbox.Limits = {
      memoryMb: requested.memory_mb ?? config.defaultLimits.memoryMb,
      cpus: requested.cpus ?? config.defaultLimits.cpus,
      pids: requested.pids ?? config.defaultLimits.pids
    }
    const over = [
      limits.memoryMb > config.maxLimits.memoryMb ? `memory_mb ${limits.memoryMb} > ${config.maxLimits.memoryMb}` : "",
      limits.cpus > config.maxLimits.cpus ? `cpus ${limits.cpus} > ${config.maxLimits.cpus}` : "",
      limits.pids > config.maxLimits.pids ? `pids ${limits.pids} > ${config.maxLimits.pids}` : ""
    ].filter((s) => s !== "")
    return over.length === 0
      ? Effect.succeed(limits)
      : Effect.fail(failure(method, { _tag: "InvalidParams" }, `limits above the allowed maximum: ${over.join(", ")}`))
  }

  const nonce = Effect.map(
    Effect.all([Random.nextIntBetween(0, 0x7fffffff), Random.nextIntBetween(0, 0x7fffffff)]),
    ([a, b]) => `${a.toString(16)}${b.toString(16)}`
  )

  /** Runs the runner in the sandbox; maps how the sandbox run ended to a reply or a typed failure. */
  const runRunner = Effect.fn("PythonProvider.run")(function*(
    method: string,
    ctx: ExecuteContext,
    request: {
      readonly mode: "execute" | "validate"
      readonly source: string
      readonly filename: string
      /** The source is a host file: a syntax error in it is reported without quoting it. */
      readonly fromFile: boolean
      readonly context: Json.JsonObject
      readonly limits: Sandbox.Limits
      readonly timeout: Duration.Duration
      readonly trusted: boolean
    }
  ) {
    const id = yield* nonce
    const reuse = request.trusted && sandbox.backend === "docker"
    const input = JSON.stringify({
      nonce: id,
      mode: request.mode,
      code: request.source,
      filename: request.filename,
      from_file: request.fromFile,
      context: request.context,
      warm: reuse
    })
    const label = `gleitzeit-${sanitize(ctx.runId)}-${sanitize(ctx.taskId)}-${ctx.attempt}-${id.slice(0, 8)}`
    const started = yield* Clock.currentTimeMillis
    const completed = yield* sandbox.run({
      script: Runner.script,
      input,
      label,
      limits: request.limits,
      timeout: request.timeout,
      reuse,
      maxOutputBytes: config.maxOutputBytes,
      tailBytes: config.maxResultBytes + 1024
    }).pipe(
      Effect.catchTags({
        SandboxUnavailable: (error) => failure(method, { _tag: "Unavailable" }, error.message, error.cause),
        SandboxFailed: (error) => failure(method, { _tag: "Internal" }, error.message, error.cause),
        SandboxTimeout: (error) =>
          Effect.zipRight(
            emitOutput(ctx, error.stdout.text, error.stderr.text),
            failure(
              method,
              { _tag: "Timeout" },
              `${method} ran longer than ${Duration.format(error.timeout)} and was killed`
            )
          )
      })
    )
    const durationMs = (yield* Clock.currentTimeMillis) - started
    const split = Runner.split(completed.stdout.text, id)
    const { malformed, reply } = split
    const output = clip(split.output, config.maxOutputBytes)
    const stderr = clip(completed.stderr.text, config.maxOutputBytes)
    if (reply !== undefined && reply.ok) return { reply, stdout: output, stderr, completed, durationMs }
    yield* emitOutput(ctx, output, stderr)
    if (reply !== undefined) {
      if (reply.kind === "source") {
        const at = reply.line === undefined || reply.line === null
          ? ""
          : ` (line ${reply.line}${
            reply.column === undefined || reply.column === null ? "" : `, column ${reply.column}`
          })`
        return yield* failure(
          method,
          { _tag: "InvalidParams" },
          `the file '${request.filename}' is not valid Python${at}`
        )
      }
      if (reply.kind === "exception" && reply.type === "MemoryError") {
        return yield* failure(
          method,
          { _tag: "OutOfMemory" },
          `MemoryError: the code exceeded ` +
            `${request.limits.memoryMb} MiB${reply.message === "" ? "" : ` (${reply.message})`}`
        )
      }
      return yield* failure(
        method,
        {
          _tag: "ExecutionFailed",
          exitCode: completed.exitCode,
          ...(reply.traceback === undefined ? {} : { traceback: reply.traceback })
        },
        reply.kind === "exception" ? `${reply.type}: ${reply.message}` : reply.message
      )
    }
    if (completed.oomKilled || /\bMemoryError\b|Cannot allocate memory|bad_alloc/.test(stderr)) {
      return yield* failure(
        method,
        { _tag: "OutOfMemory" },
        `the code exceeded its memory limit of ${request.limits.memoryMb} MiB and was killed`
      )
    }
    if (completed.exitCode === 128 + 31) {
      return yield* failure(method, { _tag: "SandboxViolation" }, `a forbidden system call killed the code (SIGSYS)`)
    }
    if (completed.exitCode === 0 && completed.stdout.droppedBytes > 0) {
      return yield* failure(
        method,
        { _tag: "TooLarge", limitBytes: config.maxResultBytes },
        `the result exceeds ${config.maxResultBytes} bytes of JSON`
      )
    }
    if (completed.exitCode !== 0 || malformed) {
      return yield* failure(
        method,
        { _tag: "ExecutionFailed", exitCode: completed.exitCode },
        `python exited with status ${completed.exitCode}${stderr.trim() === "" ? "" : `: ${tail(stderr.trim())}`}`
      )
    }
    // `os._exit(0)`: the code ended successfully without letting the runner reply.
    const none: Runner.Reply = { ok: true, result: null }
    return { reply: none, stdout: output, stderr, completed, durationMs }
  })

  const emitOutput = (ctx: ExecuteContext, stdout: string, stderr: string) =>
    Effect.zipRight(
      stdout === "" ? Effect.void : ctx.emit("stdout", stdout),
      stderr === "" ? Effect.void : ctx.emit("stderr", stderr)
    )

  const timeoutOf = (method: string, seconds: number | undefined) => {
    const timeout = seconds === undefined ? config.defaultTimeout : Duration.seconds(seconds)
    return Duration.greaterThan(timeout, config.maxTimeout)
      ? Effect.fail(
        failure(method, { _tag: "InvalidParams" }, `timeout above the allowed ${Duration.format(config.maxTimeout)}`)
      )
      : Effect.succeed(timeout)
  }

  const execute = Effect.fn("PythonProvider.execute")(function*(
    p: PythonProtocol.ExecuteParams,
    ctx: ExecuteContext
  ) {
    const method = "python/execute"
    const { filename, fromFile, source } = yield* sourceOf(method, p)
    const limits = yield* limitsOf(method, p.limits)
    const timeout = yield* timeoutOf(method, p.timeout)
    const run = yield* runRunner(method, ctx, {
      mode: "execute",
      source,
      filename,
      fromFile,
      context: p.context,
      limits,
      timeout,
      trusted: p.trusted ?? config.trustedByDefault
    })
    const result = "result" in run.reply ? run.reply.result : null
    const out: PythonProtocol.ExecuteResult = {
      result,
      stdout: run.stdout,
      stderr: run.stderr,
      exit_code: run.completed.exitCode,
      duration_ms: run.durationMs
    }
    return out as Json.Json
  })

  const validate = Effect.fn("PythonProvider.validate")(function*(
    p: PythonProtocol.ValidateParams,
    ctx: ExecuteContext
  ) {
    const method = "python/validate"
    const { filename, fromFile, source } = yield* sourceOf(method, p)
    const run = yield* runRunner(method, ctx, {
      mode: "validate",
      source,
      filename,
      fromFile,
      context: {},
      limits: config.defaultLimits,
      timeout: config.defaultTimeout,
      // Compiling runs none of the code: a warm container is fine.
      trusted: true
    })
    if (!("valid" in run.reply)) {
      return yield* failure(method, { _tag: "Internal" }, "the runner did not answer the validation")
    }
    const out: PythonProtocol.ValidateResult = run.reply.error === undefined
      ? { valid: run.reply.valid }
      : { valid: run.reply.valid, error: run.reply.error }
    return out as Json.Json
  })

  const python: Provider = {
    id: provider,
    spec: PythonProtocol.spec,
    execute: (method: Protocol.MethodSpec, params: unknown, ctx: ExecuteContext) =>
      method.name === "python/validate"
        ? validate(params as PythonProtocol.ValidateParams, ctx)
        : execute(params as PythonProtocol.ExecuteParams, ctx),
    health: sandbox.health
  }
  return python
})

/**
 * Registers the Python provider over the sandbox `PythonConfig` asks for (needs `PythonConfig`, and the
 * `PathPolicy` that `file` params are read through).
 */
export const layer: Layer.Layer<
  never,
  never,
  ProviderRegistry.ProviderRegistry | PythonConfig | PathPolicy.PathPolicy
> = ProviderRegistry.register(make).pipe(Layer.provide(layerSandbox))

/** Registers the Python provider with these settings, e.g. `Embedded.layer({ providers: layerConfig() })`. */
export const layerConfig = (
  partial: PartialSettings = {}
): Layer.Layer<never, never, ProviderRegistry.ProviderRegistry | PathPolicy.PathPolicy> =>
  layer.pipe(Layer.provide(PythonConfig.layer(partial)))
