/**
 * Registered workflows: the workflow files of a directory (`--workflows DIR`), run by name over the API. A file's
 * name without its extension is the workflow's registered name (`summarize.yaml` → `summarize`). The directory is
 * watched: a changed, added or removed file is reloaded within a moment, and a file that stops loading keeps being
 * listed with its problems (and cannot run) until it is fixed.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { type Workflow, WorkflowError, WorkflowLoader } from "@gleitzeit/core"
import { PathPolicy, ProviderRegistry } from "@gleitzeit/providers"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { resolve } from "node:path"

/** A registered workflow. */
export interface Entry {
  /** The registered name: the file name without its extension. */
  readonly name: string
  /** The file name, inside the directory. */
  readonly file: string
  /** The file's path. */
  readonly path: string
  /** The file's text, loaded again (with inputs) for every run. */
  readonly text: string
  /** When it was (re)loaded, epoch ms. */
  readonly loadedAt: number
  /** The loaded workflow, or every problem that keeps it from loading. */
  readonly loaded:
    | { readonly _tag: "Valid"; readonly workflow: Workflow.Workflow }
    | { readonly _tag: "Invalid"; readonly issues: ReadonlyArray<WorkflowError.Issue> }
}

/** The registered workflows service. */
export class WorkflowRegistry extends Context.Tag("@gleitzeit/runtime/WorkflowRegistry")<WorkflowRegistry, {
  /** The registered workflows, by name. */
  readonly list: Effect.Effect<ReadonlyArray<Entry>>
  /** A registered workflow by name. */
  readonly get: (name: string) => Effect.Effect<Option.Option<Entry>>
  /** Loads the directory again now (the watcher does it on every change). */
  readonly reload: Effect.Effect<void>
}>() {}

const workflowFile = /^([\w][\w.-]*)\.(ya?ml|json)$/i

/** Loads one file: its workflow, or its problems. */
const loadFile = (
  text: string,
  file: string,
  path: string,
  registry: ProviderRegistry.ProviderRegistry["Type"],
  paths: PathPolicy.PathPolicy["Type"]
) =>
  WorkflowLoader.load(text, {
    file,
    catalog: ProviderRegistry.catalogOf(registry),
    ...PathPolicy.forWorkflow(paths, path)
  }).pipe(
    Effect.map((loaded): Entry["loaded"] => ({ _tag: "Valid", workflow: loaded.workflow })),
    Effect.catchTags({
      WorkflowParseError: (error) =>
        Effect.succeed<Entry["loaded"]>({
          _tag: "Invalid",
          issues: [
            new WorkflowError.Issue({
              path: "",
              message: error.message,
              code: error.code,
              line: error.line,
              column: error.column
            })
          ]
        }),
      WorkflowValidationError: (error) => Effect.succeed<Entry["loaded"]>({ _tag: "Invalid", issues: error.issues })
    })
  )

/** Builds a registry over `directory`, watching it until the scope closes. */
export const make = (directory: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const registry = yield* ProviderRegistry.ProviderRegistry
    const paths = yield* PathPolicy.PathPolicy
    const entries = yield* Ref.make<ReadonlyMap<string, Entry>>(new Map())

    const reload = Effect.gen(function*() {
      const names = yield* fs.readDirectory(directory)
      const previous = yield* Ref.get(entries)
      const next = new Map<string, Entry>()
      for (const file of [...names].sort()) {
        const match = workflowFile.exec(file)
        if (match === null) continue
        const name = match[1]!
        const path = resolve(directory, file)
        const text = yield* fs.readFileString(path)
        const known = previous.get(name)
        if (next.has(name)) {
          yield* Effect.logWarning(
            `registered workflows: ${file} ignored, '${name}' is already ${next.get(name)!.file}`
          )
          continue
        }
        // An unchanged file keeps its entry (and load time).
        if (known !== undefined && known.file === file && known.text === text) {
          next.set(name, known)
          continue
        }
        const loaded = yield* loadFile(text, file, path, registry, paths)
        if (loaded._tag === "Invalid") {
          yield* Effect.logWarning(
            `registered workflow ${file} does not load: ${loaded.issues.map((i) => i.render(file)).join("; ")}`
          )
        }
        next.set(name, { name, file, path, text, loadedAt: yield* Clock.currentTimeMillis, loaded })
      }
      yield* Ref.set(entries, next)
    }).pipe(
      Effect.catchAll((error) => Effect.logWarning(`registered workflows: cannot read ${directory}: ${error.message}`))
    )

    yield* reload
    // Reload on every change (bursts of events become one reload); a watch that fails is started again.
    yield* fs.watch(directory).pipe(
      Stream.debounce("150 millis"),
      Stream.runForEach(() => reload),
      Effect.catchAll((error) =>
        Effect.logWarning(`registered workflows: watching ${directory} failed: ${error.message}`)
      ),
      Effect.repeat(Schedule.spaced("5 seconds")),
      Effect.forkScoped
    )

    return WorkflowRegistry.of({
      list: Effect.map(Ref.get(entries), (map) => [...map.values()]),
      get: (name) => Effect.map(Ref.get(entries), (map) => Option.fromNullable(map.get(name))),
      reload
    })
  })

/** Registered workflows from `directory`; none when it is undefined. */
export const layer = (
  directory: string | undefined
): Layer.Layer<
  WorkflowRegistry,
  never,
  FileSystem.FileSystem | ProviderRegistry.ProviderRegistry | PathPolicy.PathPolicy
> =>
  directory === undefined
    ? Layer.succeed(
      WorkflowRegistry,
      WorkflowRegistry.of({ list: Effect.succeed([]), get: () => Effect.succeedNone, reload: Effect.void })
    )
    : Layer.scoped(WorkflowRegistry, make(directory))
