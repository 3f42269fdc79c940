/**
 * The one path policy. Every param that names a host path — `llm/*` `file_path`, `image_path`, `image_paths`,
 * `python/*` `file`, a batch workflow's `directory` — is resolved and read through it, when the workflow is loaded
 * and again when the file is read:
 *
 * - only paths inside the configured roots (default: the working directory) are reachable, after resolving
 *   symlinks; a root of `/` is never granted, and `/proc`, `/sys` and `/dev` never reachable;
 * - `..` is refused outright; so is any name below a root that starts with `.` (`.env`, `.git/`, `.gleitzeit/`),
 *   any `gleitzeit.yaml`/`gleitzeit.yml`, and the files the operator denies (the configuration, the journal);
 * - a relative path is looked up in the working directory first, then in the workflow file's folder (when there
 *   is one); a path outside the roots is refused before anything is looked up, so whether it exists is not
 *   revealed.
 */
import { Batch, ProviderError } from "@gleitzeit/core"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { constants } from "node:fs"
import { open, readdir, realpath, stat } from "node:fs/promises"
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path"

/** Settings of the policy. */
export interface Settings {
  /** Directories whose files params may name (relative ones against `cwd`). */
  readonly roots: ReadonlyArray<string>
  /** Files never reachable even inside a root: the configuration file, the journal. */
  readonly deny: ReadonlyArray<string>
  /** The largest file read, in bytes. */
  readonly maxFileBytes: number
  /** Entries a directory listing (a batch) may visit. */
  readonly maxListEntries: number
  /** The working directory relative paths are resolved against (default: the process's). */
  readonly cwd?: string | undefined
}

/** The defaults: the working directory as the only root, 32 MiB files, listings of up to 100,000 entries. */
export const defaults: Settings = {
  roots: ["."],
  deny: [],
  maxFileBytes: 32 * 1024 * 1024,
  maxListEntries: 100_000
}

/** Why a path was refused (or could not be used). */
export type Reason =
  | "Outside"
  | "Parent"
  | "Hidden"
  | "Denied"
  | "NotFound"
  | "NotAFile"
  | "NotADirectory"
  | "TooLarge"
  | "Unreadable"
  | "Invalid"

/** A path the policy refused, or that is not what the param needs; `message` never says more than the roots allow. */
export class PathDenied extends Data.TaggedError("PathDenied")<{
  readonly reason: Reason
  readonly path: string
  readonly message: string
  /** For `TooLarge`: the limit in bytes. */
  readonly limitBytes?: number
}> {}

/** What a path must be. */
export type Kind = "file" | "directory"

/** Options of a lookup. */
export interface ResolveOptions {
  /** What the path must name (default `file`). */
  readonly kind?: Kind
  /** The workflow file's folder: relative paths not found in the working directory are looked up there. */
  readonly base?: string | undefined
}

/** A file read through the policy. */
export interface Read {
  /** Its real path. */
  readonly path: string
  readonly bytes: Uint8Array
}

/** The policy service. */
export class PathPolicy extends Context.Tag("@gleitzeit/providers/PathPolicy")<PathPolicy, {
  /** The granted roots (real paths). */
  readonly roots: ReadonlyArray<string>
  /** The real path a param names, when the policy allows it and it exists as `kind`. */
  readonly resolve: (path: string, options?: ResolveOptions) => Effect.Effect<string, PathDenied>
  /** Reads a file a param names (at most `maxBytes`, default the configured limit). */
  readonly readFile: (
    path: string,
    options?: { readonly maxBytes?: number; readonly base?: string }
  ) => Effect.Effect<Read, PathDenied>
  /**
   * The files under a directory whose paths relative to it match a glob, sorted, as real paths (hidden names,
   * denied files and symlinks are left out).
   */
  readonly listFiles: (directory: string, pattern: string, options?: { readonly base?: string }) => Effect.Effect<
    ReadonlyArray<string>,
    PathDenied
  >
}>() {}

/** Host pseudo-filesystems that are never reachable, whatever the roots. */
const neverReachable = ["/proc", "/sys", "/dev"]

/** File names never reachable: another Gleitzeit configuration. */
const deniedNames = new Set(["gleitzeit.yaml", "gleitzeit.yml"])

const within = (root: string, path: string): boolean =>
  path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)

const hiddenBelow = (root: string, path: string): boolean =>
  relative(root, path).split(sep).some((segment) => segment.startsWith("."))

const errnoOf = (cause: unknown): string | undefined => {
  const code = (cause as { code?: unknown } | null)?.code
  return typeof code === "string" ? code : undefined
}

interface Root {
  /** As configured, made absolute. */
  readonly absolute: string
  /** Its real path. */
  readonly real: string
}

/** Builds the policy: resolves the roots (a root that does not exist, or `/`, is left out with a warning). */
export const make = (partial: Partial<Settings> = {}): Effect.Effect<Context.Tag.Service<PathPolicy>> =>
  Effect.gen(function*() {
    const settings: Settings = { ...defaults, ...partial }
    const cwd = resolve(settings.cwd ?? ".")
    const roots: Array<Root> = []
    for (const configured of settings.roots) {
      const absolute = resolve(cwd, configured)
      const real = yield* Effect.promise(() => realpath(absolute).catch(() => undefined))
      if (real === undefined) {
        yield* Effect.logWarning(`files.roots: ${configured} (${absolute}) does not exist; it grants nothing`)
      } else if (real === sep || neverReachable.some((system) => within(system, real))) {
        yield* Effect.logWarning(`files.roots: ${configured} would grant ${real}; name narrower roots`)
      } else if (!(yield* Effect.promise(() => stat(real).then((s) => s.isDirectory(), () => false)))) {
        yield* Effect.logWarning(`files.roots: ${configured} is not a directory; it grants nothing`)
      } else roots.push({ absolute, real })
    }
    const denied = new Set<string>()
    for (const file of settings.deny) {
      const absolute = resolve(cwd, file)
      denied.add(absolute)
      const real = yield* Effect.promise(() => realpath(absolute).catch(() => undefined))
      if (real !== undefined) denied.add(real)
    }
    const rootList = roots.length === 0 ? "none are configured" : roots.map((r) => r.absolute).join(", ")

    const refuse = (reason: Reason, path: string, message: string, limitBytes?: number) =>
      new PathDenied({ reason, path, message, ...(limitBytes === undefined ? {} : { limitBytes }) })

    const outside = (path: string) => refuse("Outside", path, `'${path}' is outside the allowed roots (${rootList})`)

    /** Hidden names, denied names and denied files below the root a path is in. */
    const checkNames = (given: string, root: string, path: string): PathDenied | undefined => {
      if (hiddenBelow(root, path)) {
        return refuse("Hidden", given, `'${given}' names a hidden file or directory (a name starting with '.')`)
      }
      if (deniedNames.has(basename(path)) || denied.has(path)) {
        return refuse("Denied", given, `'${given}' is not readable by workflows (Gleitzeit's configuration or journal)`)
      }
      return undefined
    }

    type Lookup = { readonly _tag: "Found"; readonly real: string } | PathDenied | { readonly _tag: "Missing" }

    /** One candidate: refused without looking when it is outside the roots, else looked up. */
    const lookup = (given: string, candidate: string): Effect.Effect<Lookup> =>
      Effect.gen(function*() {
        const root = roots.find((r) => within(r.absolute, candidate)) ?? roots.find((r) => within(r.real, candidate))
        if (root === undefined) return outside(given)
        const lexical = checkNames(given, within(root.absolute, candidate) ? root.absolute : root.real, candidate)
        if (lexical !== undefined) return lexical
        const real = yield* Effect.promise(() =>
          realpath(candidate).then((path) => ({ path }), (cause: unknown) => ({ code: errnoOf(cause) }))
        )
        if (!("path" in real)) {
          return real.code === "ENOENT" || real.code === "ENOTDIR"
            ? { _tag: "Missing" as const }
            : refuse("Unreadable", given, `'${given}' cannot be read (${real.code ?? "error"})`)
        }
        // A symlink may lead out of the root it is in: only the real path counts.
        const realRoot = roots.find((r) => within(r.real, real.path))
        if (realRoot === undefined || neverReachable.some((system) => within(system, real.path))) return outside(given)
        return checkNames(given, realRoot.real, real.path) ?? { _tag: "Found" as const, real: real.path }
      })

    const resolvePath = (path: string, options: ResolveOptions = {}): Effect.Effect<string, PathDenied> =>
      Effect.gen(function*() {
        const kind = options.kind ?? "file"
        if (path === "" || path.includes("\0")) return yield* refuse("Invalid", path, `'${path}' is not a path`)
        if (path.split(/[\\/]/).includes("..")) {
          return yield* refuse("Parent", path, `'${path}' contains '..'; name paths inside the allowed roots directly`)
        }
        const candidates = isAbsolute(path)
          ? [{ path: resolve(path), where: "" }]
          : [
            { path: resolve(cwd, path), where: `the working directory (${cwd})` },
            ...(options.base === undefined || resolve(options.base) === cwd
              ? []
              : [{ path: resolve(options.base, path), where: `the workflow's folder (${resolve(options.base)})` }])
          ]
        let refused: PathDenied | undefined
        const missing: Array<string> = []
        for (const candidate of candidates) {
          const found = yield* lookup(path, candidate.path)
          if (found._tag === "Missing") missing.push(candidate.where)
          else if (found._tag !== "Found") refused ??= found
          else {
            const info = yield* Effect.promise(() => stat(found.real).catch(() => undefined))
            if (info === undefined) missing.push(candidate.where)
            else if (kind === "file" && !info.isFile()) {
              return yield* refuse(
                "NotAFile",
                path,
                `'${path}' is ${info.isDirectory() ? "a directory" : "not a regular file"}; a file is expected`
              )
            } else if (kind === "directory" && !info.isDirectory()) {
              return yield* refuse("NotADirectory", path, `'${path}' is not a directory`)
            } else return found.real
          }
        }
        if (missing.length === 0) return yield* (refused ?? outside(path))
        const where = missing.filter((w) => w !== "")
        return yield* refuse(
          "NotFound",
          path,
          `'${path}' does not exist${where.length === 0 ? "" : ` in ${where.join(" or ")}`}`
        )
      })

    const readFile = (path: string, options: { readonly maxBytes?: number; readonly base?: string } = {}) =>
      Effect.flatMap(resolvePath(path, { kind: "file", base: options.base }), (real) => {
        const limit = Math.min(options.maxBytes ?? settings.maxFileBytes, settings.maxFileBytes)
        return Effect.acquireUseRelease(
          Effect.tryPromise({
            try: () => open(real, constants.O_RDONLY | constants.O_NOFOLLOW),
            catch: (cause) => refuse("Unreadable", path, `'${path}' cannot be read (${errnoOf(cause) ?? "error"})`)
          }),
          (handle) =>
            Effect.tryPromise({
              try: async () => {
                const info = await handle.stat()
                if (!info.isFile()) return { _tag: "NotAFile" as const }
                if (info.size > limit) return { _tag: "TooLarge" as const, size: info.size }
                return { _tag: "Read" as const, bytes: await handle.readFile() }
              },
              catch: (cause) => refuse("Unreadable", path, `'${path}' cannot be read (${errnoOf(cause) ?? "error"})`)
            }).pipe(
              Effect.flatMap((read) => {
                switch (read._tag) {
                  case "NotAFile":
                    return Effect.fail(refuse("NotAFile", path, `'${path}' is not a regular file`))
                  case "TooLarge":
                    return Effect.fail(
                      refuse("TooLarge", path, `'${path}' is ${read.size} bytes; the limit is ${limit}`, limit)
                    )
                  case "Read":
                    return read.bytes.length > limit
                      ? Effect.fail(refuse("TooLarge", path, `'${path}' grew past the limit of ${limit} bytes`, limit))
                      : Effect.succeed<Read>({ path: real, bytes: read.bytes })
                }
              })
            ),
          (handle) => Effect.promise(() => handle.close().catch(() => undefined))
        )
      })

    const listFiles = (directory: string, pattern: string, options: { readonly base?: string } = {}) =>
      Effect.flatMap(resolvePath(directory, { kind: "directory", base: options.base }), (real) =>
        Effect.tryPromise({
          try: async () => {
            const matcher = Batch.globToRegExp(pattern)
            const found: Array<string> = []
            const queue = [real]
            let visited = 0
            while (queue.length > 0) {
              const dir = queue.shift()!
              for (const entry of await readdir(dir, { withFileTypes: true })) {
                if (++visited > settings.maxListEntries) return { tooMany: true as const }
                if (entry.name.startsWith(".") || entry.isSymbolicLink()) continue
                const path = join(dir, entry.name)
                if (entry.isDirectory()) queue.push(path)
                else if (entry.isFile() && !deniedNames.has(entry.name) && !denied.has(path)) {
                  if (matcher.test(relative(real, path).split(sep).join("/"))) found.push(path)
                }
              }
            }
            return { files: found.sort() }
          },
          catch: (cause) =>
            refuse("Unreadable", directory, `'${directory}' cannot be listed (${errnoOf(cause) ?? "error"})`)
        }).pipe(
          Effect.flatMap((listed) =>
            "files" in listed
              ? Effect.succeed(listed.files)
              : Effect.fail(
                refuse("TooLarge", directory, `'${directory}' has more than ${settings.maxListEntries} entries`)
              )
          )
        ))

    return PathPolicy.of({ roots: roots.map((r) => r.real), resolve: resolvePath, readFile, listFiles })
  })

/** The policy with these settings. */
export const layer = (partial: Partial<Settings> = {}): Layer.Layer<PathPolicy> =>
  Layer.effect(PathPolicy, make(partial))

/** The provider error a refused path becomes: a policy refusal is a `SandboxViolation`, a missing file `NotFound`. */
export const toProviderError =
  (provider: string, method: string) => (denied: PathDenied): ProviderError.ProviderError =>
    ProviderError.make({
      provider,
      method,
      message: denied.message,
      reason: ((): ProviderError.Reason => {
        switch (denied.reason) {
          case "Outside":
          case "Parent":
          case "Hidden":
          case "Denied":
            return { _tag: "SandboxViolation" }
          case "NotFound":
            return { _tag: "NotFound" }
          case "TooLarge":
            return { _tag: "TooLarge", limitBytes: denied.limitBytes ?? 0 }
          case "NotAFile":
          case "NotADirectory":
          case "Unreadable":
          case "Invalid":
            return { _tag: "InvalidParams" }
        }
      })()
    })

/**
 * The `files` section of the configuration (nest it, e.g. `Config.nested(config, "files")`): `roots` (default the
 * working directory) and `max_file_bytes`. The denied files are the caller's to add (it knows the configuration
 * file and the journal).
 */
export const config: Config.Config<Pick<Settings, "roots" | "maxFileBytes">> = Config.all({
  roots: Config.array(Config.string(), "roots").pipe(
    Config.withDefault(defaults.roots),
    Config.withDescription("directories whose files workflows may name (file_path, image_path, file, batch directory)")
  ),
  maxFileBytes: Config.integer("max_file_bytes").pipe(
    Config.validate({ message: "must be at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(defaults.maxFileBytes),
    Config.withDescription("largest file a workflow may have read (bytes)")
  )
})

/**
 * The file access a workflow loader needs for one workflow file: host path params resolved (working directory
 * first, then the file's folder) and batch directories listed, both through the policy.
 */
export const forWorkflow = (policy: Context.Tag.Service<PathPolicy>, workflowFile?: string) => {
  const base = workflowFile === undefined ? undefined : dirname(resolve(workflowFile))
  const options = base === undefined ? {} : { base }
  return {
    hostPath: (path: string) => Effect.mapError(policy.resolve(path, options), (denied) => denied.message),
    listFiles: (directory: string, pattern: string) =>
      Effect.mapError(policy.listFiles(directory, pattern, options), (denied) => denied.message)
  }
}
