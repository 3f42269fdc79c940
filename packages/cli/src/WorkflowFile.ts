/**
 * Reading a workflow file: once per invocation, its size checked before it is read whole (a pipe or device is read
 * up to the limit and no further), decoded (UTF-8, or UTF-16 with a byte-order mark), then parsed once with the
 * loader's size, nesting and alias limits. Everything after works on the parsed document.
 */
import { type WorkflowError, WorkflowLoader } from "@gleitzeit/core"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { open } from "node:fs/promises"
import { dirname, resolve } from "node:path"
import { Configuration } from "./CliConfig.js"

/** A workflow file, read and parsed. */
export interface Document {
  /** The path as given (used in messages). */
  readonly file: string
  /** The folder it is in (absolute). */
  readonly directory: string
  /** Its text. */
  readonly text: string
  /** Its parsed document, with positions. */
  readonly parsed: WorkflowLoader.Parsed
}

/** The workflow file of this invocation (`run FILE`, `validate FILE`, `submit FILE`). */
export class WorkflowDocument extends Context.Tag("@gleitzeit/cli/WorkflowDocument")<WorkflowDocument, Document>() {}

/** A workflow file that cannot be read: missing, a directory, over the size limit, not text. */
export class WorkflowFileError extends Data.TaggedError("WorkflowFileError")<{
  readonly file: string
  readonly message: string
}> {}

const chunk = 64 * 1024

/** Reads at most `limit` bytes; fails without reading further when the file is larger. */
const readBounded = (file: string, limit: number): Effect.Effect<Uint8Array, WorkflowFileError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => open(file, "r"),
      catch: (cause) => new WorkflowFileError({ file, message: `cannot read ${file}: ${reason(cause)}` })
    }),
    (handle) =>
      Effect.tryPromise({
        try: async () => {
          const stat = await handle.stat()
          if (stat.isDirectory()) return { _tag: "Directory" as const }
          if (stat.isFile() && stat.size > limit) return { _tag: "TooLarge" as const, bytes: stat.size }
          const parts: Array<Uint8Array> = []
          let total = 0
          for (;;) {
            const buffer = new Uint8Array(Math.min(chunk, limit + 1 - total))
            const { bytesRead } = await handle.read(buffer, 0, buffer.length, null)
            if (bytesRead === 0) break
            parts.push(buffer.subarray(0, bytesRead))
            total += bytesRead
            if (total > limit) return { _tag: "TooLarge" as const, bytes: undefined }
          }
          return { _tag: "Read" as const, bytes: Buffer.concat(parts) }
        },
        catch: (cause) => new WorkflowFileError({ file, message: `cannot read ${file}: ${reason(cause)}` })
      }).pipe(Effect.flatMap((read) => {
        switch (read._tag) {
          case "Directory":
            return Effect.fail(new WorkflowFileError({ file, message: `${file} is a directory, not a workflow file` }))
          case "TooLarge":
            return Effect.fail(
              new WorkflowFileError({
                file,
                message: read.bytes === undefined
                  ? `${file} is larger than ${limit} bytes, the limit (max_workflow_bytes)`
                  : `${file} is ${read.bytes} bytes; the limit is ${limit} (max_workflow_bytes)`
              })
            )
          case "Read":
            return Effect.succeed(read.bytes)
        }
      })),
    (handle) => Effect.promise(() => handle.close())
  )

const reason = (cause: unknown): string => {
  const code = (cause as { code?: unknown }).code
  if (code === "ENOENT") return "no such file"
  if (code === "EACCES") return "permission denied"
  return cause instanceof Error ? cause.message : String(cause)
}

/** Decodes the bytes of a workflow: UTF-8 (a BOM is dropped) or UTF-16 with its byte-order mark. */
const decode = (file: string, bytes: Uint8Array): Effect.Effect<string, WorkflowFileError> =>
  Effect.try({
    try: () => {
      if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder("utf-16le", { fatal: true }).decode(bytes)
      if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder("utf-16be", { fatal: true }).decode(bytes)
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    },
    catch: () =>
      new WorkflowFileError({
        file,
        message: `${file} is not text: it is neither UTF-8 nor UTF-16 with a byte-order mark`
      })
  })

/** Reads and parses a workflow file within the configured size limit (and the loader's nesting and alias limits). */
export const read = (
  file: string,
  options: { readonly maxBytes: number }
): Effect.Effect<Document, WorkflowFileError | WorkflowError.WorkflowParseError> =>
  Effect.gen(function*() {
    const bytes = yield* readBounded(file, options.maxBytes)
    const text = yield* decode(file, bytes)
    const parsed = yield* WorkflowLoader.parse(text, { file, maxBytes: options.maxBytes })
    return { file, directory: dirname(resolve(file)), text, parsed }
  })

/** The workflow file of this invocation, read once (size limit from the configuration). */
export const layer = (file: string): Layer.Layer<
  WorkflowDocument,
  WorkflowFileError | WorkflowError.WorkflowParseError,
  Configuration
> =>
  Layer.effect(
    WorkflowDocument,
    Effect.flatMap(Configuration, (config) => read(file, { maxBytes: config.settings.maxWorkflowBytes }))
  )
