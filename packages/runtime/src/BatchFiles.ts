/**
 * Lists the files of a batch workflow: paths under a directory (relative to the workflow file) matching a glob.
 */
import { Batch } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { readdir } from "node:fs/promises"
import { dirname, isAbsolute, join, resolve, sep } from "node:path"

/** A `listFiles` for `WorkflowLoader.load`: matches are absolute paths, sorted. */
export const lister = (workflowFile: string) => (directory: string, pattern: string) =>
  Effect.tryPromise({
    try: async () => {
      const root = isAbsolute(directory) ? directory : resolve(dirname(workflowFile), directory)
      const matcher = Batch.globToRegExp(pattern)
      const entries = await readdir(root, { recursive: true, withFileTypes: true })
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
        .filter((path) => matcher.test(path.slice(root.length + 1).split(sep).join("/")))
        .sort()
    },
    catch: (cause) => cause instanceof Error ? cause.message : String(cause)
  })
