/**
 * Where the CLI's text goes: the process's stdout and stderr, and what they are (a terminal or not, how wide). The
 * only module that writes to the process's streams. Text for a stream that is not a terminal (CI, a pipe, a file)
 * has its ANSI escape sequences removed, whoever produced it (help pages of the option parser included). Every
 * text is redacted on its way out (`Redact.text`: URL passwords, secret-looking query keys and fields), whichever
 * command printed it: `run`, `logs`, `status --json` and the rest.
 */
import { Redact } from "@gleitzeit/core"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { Console as NodeConsole } from "node:console"
import { Writable } from "node:stream"
import * as Printer from "./Printer.js"

/** The process's output: what stdout is, and writing to it as is (cursor movement for a live region). */
export class Output extends Context.Tag("@gleitzeit/cli/Output")<Output, {
  /** stdout is a terminal: progress may redraw a live region. */
  readonly interactive: boolean
  /** Columns of the terminal (80 when unknown). */
  readonly columns: () => number
  /** Writes text to stdout without adding a newline. */
  readonly write: (text: string) => Effect.Effect<void>
}>() {}

/** A stream of the process, and whether it is a terminal. */
export interface Stream {
  readonly write: (text: string) => void
  readonly isTTY: boolean
}

const writer = (stream: Stream): Writable =>
  new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = chunk.toString()
      stream.write(Redact.text(stream.isTTY ? text : Printer.stripAnsi(text)))
      callback()
    }
  })

/** An Effect `Console` over the given streams, removing ANSI sequences from what goes to a non-terminal. */
export const makeConsole = (stdout: Stream, stderr: Stream): Console.Console => {
  const unsafe = new NodeConsole({ stdout: writer(stdout), stderr: writer(stderr), colorMode: stdout.isTTY })
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => Effect.sync(() => unsafe.assert(condition, ...args)),
    clear: Effect.sync(() => unsafe.clear()),
    count: (label) => Effect.sync(() => unsafe.count(label)),
    countReset: (label) => Effect.sync(() => unsafe.countReset(label)),
    debug: (...args) => Effect.sync(() => unsafe.debug(...args)),
    dir: (item, options) => Effect.sync(() => unsafe.dir(item, options)),
    dirxml: (...args) => Effect.sync(() => unsafe.dirxml(...args)),
    error: (...args) => Effect.sync(() => unsafe.error(...args)),
    group: (options) =>
      Effect.sync(() => (options?.collapsed ? unsafe.groupCollapsed(options.label) : unsafe.group(options?.label))),
    groupEnd: Effect.sync(() => unsafe.groupEnd()),
    info: (...args) => Effect.sync(() => unsafe.info(...args)),
    log: (...args) => Effect.sync(() => unsafe.log(...args)),
    table: (data, properties) => Effect.sync(() => unsafe.table(data, properties)),
    time: (label) => Effect.sync(() => unsafe.time(label)),
    timeEnd: (label) => Effect.sync(() => unsafe.timeEnd(label)),
    timeLog: (label, ...args) => Effect.sync(() => unsafe.timeLog(label, ...args)),
    trace: (...args) => Effect.sync(() => unsafe.trace(...args)),
    warn: (...args) => Effect.sync(() => unsafe.warn(...args)),
    unsafe
  }
}

/** The output facts and the console over the process's streams. */
export const layer = (
  stdout: Stream & { readonly columns: () => number | undefined },
  stderr: Stream
): Layer.Layer<Output> =>
  Layer.merge(
    Layer.succeed(Output, {
      interactive: stdout.isTTY,
      columns: () => stdout.columns() ?? 80,
      write: (text) => Effect.sync(() => stdout.write(Redact.text(stdout.isTTY ? text : Printer.stripAnsi(text))))
    }),
    Console.setConsole(makeConsole(stdout, stderr))
  )
