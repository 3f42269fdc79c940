/**
 * `python/execute` and `python/validate` against real sandboxes: the same behaviours on the Docker backend (a
 * real engine, see scripts/setup-test-infra.sh) and on the local bubblewrap backend. A missing component fails
 * these tests by name; nothing is skipped.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import type { ProviderError } from "@gleitzeit/core"
import { DockerSandbox, LocalSandbox, type PythonConfig } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import { mkdtempSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  call,
  components,
  execute,
  executeFailing,
  layer as pythonLayer,
  noContainerLeft,
  noProcessLeft,
  processesMatching,
  timed
} from "./sandboxHelpers.js"

const files = mkdtempSync(join(tmpdir(), "gleitzeit-python-files-"))
writeFileSync(join(files, "script.py"), "result = context['n'] * 2\n")
writeFileSync(join(files, "notes.txt"), "Budget for ACME: 1.2M (password: hunter2)\n")
writeFileSync(join(files, "binary.py"), Buffer.from([0x78, 0x3d, 0xff, 0xfe, 0x00]))

const settings: PythonConfig.PartialSettings = {
  maxOutputBytes: 64 * 1024,
  maxResultBytes: 1024 * 1024
}

const reasonOf = (error: ProviderError.ProviderError) => error.reason

/** Reports which component is missing instead of letting every test fail with the same message. */
const available = (backend: "docker" | "local") =>
  backend === "docker"
    ? DockerSandbox.probe({ socketPath: components.socketPath, image: components.image })
    : Effect.asVoid(LocalSandbox.make())

for (const backend of ["docker", "local"] as const) {
  const suite = layer(pythonLayer(backend, settings, { roots: [files] }), {
    excludeTestServices: true,
    timeout: 120_000
  })
  suite(`python on ${backend}`, (it) => {
    it.effect(`the ${backend} sandbox is installed and working`, () =>
      Effect.gen(function*() {
        const probe = yield* Effect.either(available(backend))
        if (probe._tag === "Left") {
          assert.fail(`the ${backend} sandbox is unavailable: ${probe.left.message} (see scripts/setup-test-infra.sh)`)
        }
      }))

    it.effect("returns the script's top-level result, computed from the context", () =>
      Effect.gen(function*() {
        const run = yield* execute({
          code: "total = context['a'] + context['b']\nresult = {'sum': total, 'names': [n.upper() for n in " +
            "context['names']], 'none': None, 'nested': context['nested']}",
          context: { a: 2, b: 40, names: ["ada", "grace"], nested: { deep: [1, { x: true }] } }
        })
        assert.deepStrictEqual(run.result, {
          sum: 42,
          names: ["ADA", "GRACE"],
          none: null,
          nested: { deep: [1, { x: true }] }
        })
        assert.strictEqual(run.exit_code, 0)
        assert.isAbove(run.duration_ms, 0)
        const nothing = yield* execute({ code: "x = 1" })
        assert.isNull(nothing.result)
      }))

    it.effect("captures stdout and stderr (also of child processes) apart from the result", () =>
      Effect.gen(function*() {
        const run = yield* execute({
          code: [
            "import subprocess, sys",
            "print('hello', flush=True)",
            "subprocess.run(['/bin/echo', 'from a child'])",
            "print('careful', file=sys.stderr)",
            "result = 'done'"
          ].join("\n")
        })
        assert.strictEqual(run.stdout, "hello\nfrom a child\n")
        assert.strictEqual(run.stderr, "careful\n")
        assert.strictEqual(run.result, "done")
      }))

    it.effect("a Python exception fails with ExecutionFailed and the traceback of the user's code", () =>
      Effect.gen(function*() {
        const error = yield* executeFailing({
          code: "def parse(x):\n    return int(x)\n\nprint('before')\nresult = parse(context['value'])\n",
          context: { value: "forty-two" }
        })
        const reason = reasonOf(error)
        assert.strictEqual(reason._tag, "ExecutionFailed")
        if (reason._tag !== "ExecutionFailed") return
        assert.include(error.message, "ValueError: invalid literal for int()")
        assert.include(reason.traceback ?? "", "File \"<code>\", line 5, in <module>")
        assert.include(reason.traceback ?? "", "File \"<code>\", line 2, in parse")
        assert.include(reason.traceback ?? "", "return int(x)")
        assert.notInclude(reason.traceback ?? "", "_main")
        assert.strictEqual(reason.exitCode, 1)
        assert.isFalse(error.retryable)
        const syntax = reasonOf(yield* executeFailing({ code: "def broken(:\n  pass" }))
        assert.strictEqual(syntax._tag, "ExecutionFailed")
        if (syntax._tag === "ExecutionFailed") assert.include(syntax.traceback ?? "", "SyntaxError")
      }))

    it.effect("sys.exit(3) fails with ExecutionFailed and exit code 3; sys.exit(0) succeeds", () =>
      Effect.gen(function*() {
        const error = yield* executeFailing({ code: "import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)" })
        assert.deepStrictEqual(reasonOf(error), { _tag: "ExecutionFailed", exitCode: 3 })
        assert.include(error.message, "status 3")
        assert.include(error.message, "bye")
        const ok = yield* execute({ code: "import sys\nresult = 'kept'\nsys.exit(0)" })
        assert.strictEqual(ok.result, "kept")
        const hard = yield* executeFailing({ code: "import os\nos._exit(7)" })
        assert.deepStrictEqual(reasonOf(hard), { _tag: "ExecutionFailed", exitCode: 7 })
      }))

    it.effect("a result that is not JSON-serializable fails with ExecutionFailed", () =>
      Effect.gen(function*() {
        const error = yield* executeFailing({ code: "result = {1, 2}" })
        assert.strictEqual(reasonOf(error)._tag, "ExecutionFailed")
        assert.include(error.message, "not JSON-serializable")
        const nan = yield* executeFailing({ code: "result = float('nan')" })
        assert.include(nan.message, "not JSON-serializable")
      }))

    it.effect("has no network: the host's loopback and the outside are unreachable", () =>
      Effect.gen(function*() {
        let connections = 0
        const server = createServer((socket) => {
          connections++
          socket.destroy()
        })
        const port = yield* Effect.async<number>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as { port: number }).port)))
        })
        yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
        const run = yield* execute({
          code: [
            "import socket",
            "def attempt(host, port):",
            "    try:",
            "        socket.create_connection((host, port), timeout=2).close()",
            "        return 'connected'",
            "    except OSError as e:",
            "        return type(e).__name__",
            "result = [attempt('127.0.0.1', context['port']), attempt('1.1.1.1', 53), attempt('example.com', 80)]"
          ].join("\n"),
          context: { port }
        })
        const outcomes = run.result as Array<string>
        assert.strictEqual(outcomes.length, 3)
        for (const outcome of outcomes) assert.notStrictEqual(outcome, "connected")
        // Unhandled, the attempt is the code's exception.
        const error = yield* executeFailing({
          code: `import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=2)`
        })
        assert.strictEqual(reasonOf(error)._tag, "ExecutionFailed")
        assert.match(error.message, /^(ConnectionRefusedError|OSError|TimeoutError)/)
        assert.strictEqual(connections, 0)
      }).pipe(Effect.scoped))

    it.effect("the filesystem is read-only except a private /tmp", () =>
      Effect.gen(function*() {
        const run = yield* execute({
          code: [
            "import errno, os",
            "def write(path):",
            "    try:",
            "        with open(path, 'w') as f:",
            "            f.write('x')",
            "        return 'written'",
            "    except OSError as e:",
            "        return errno.errorcode[e.errno]",
            "with open('/tmp/note.txt', 'w') as f:",
            "    f.write('kept in tmp')",
            "result = {'tmp': open('/tmp/note.txt').read(), 'root': write('/escape.txt'),",
            "          'usr': write('/usr/lib/escape.txt'), 'uid': os.getuid()}"
          ].join("\n")
        })
        const result = run.result as Record<string, unknown>
        assert.strictEqual(result.tmp, "kept in tmp")
        assert.include(["EROFS", "EACCES"], result.root)
        assert.include(["EROFS", "EACCES"], result.usr)
        assert.notStrictEqual(result.uid, 0)
        const error = yield* executeFailing({ code: "open('/usr/lib/escape.txt', 'w')" })
        assert.strictEqual(reasonOf(error)._tag, "ExecutionFailed")
        assert.match(error.message, /^(OSError|PermissionError): \[Errno (30|13)\]/)
      }))

    it.effect("exceeding the memory limit fails with OutOfMemory", () =>
      Effect.gen(function*() {
        const error = yield* executeFailing({
          code: "data = 'x' * (400 * 1024 * 1024)\nresult = len(data)",
          limits: { memory_mb: 64 }
        })
        assert.strictEqual(reasonOf(error)._tag, "OutOfMemory")
        assert.isFalse(error.retryable)
        // The limit is the task's: the same code fits in more memory.
        const fits = yield* execute({
          code: "data = 'x' * (40 * 1024 * 1024)\nresult = len(data)",
          limits: { memory_mb: 256 }
        })
        assert.strictEqual(fits.result, 40 * 1024 * 1024)
      }))

    it.effect("a fork bomb is stopped by the process limit, and nothing of it survives", () =>
      Effect.gen(function*() {
        const [ms, error] = yield* timed(executeFailing({
          code: "import os\nwhile True:\n    os.fork()",
          limits: { pids: 32 },
          timeout: 30
        }, "fork-bomb"))
        assert.strictEqual(reasonOf(error)._tag, "ExecutionFailed")
        assert.include(error.message, "BlockingIOError")
        assert.isBelow(ms, 15_000)
        yield* noProcessLeft("-fork-bomb-")
        if (backend === "docker") yield* noContainerLeft("-fork-bomb-")
        // Children that only wait are counted too: the limit holds.
        const counted = yield* execute({
          code: [
            "import os, time",
            "children = 0",
            "try:",
            "    while children < 1000:",
            "        if os.fork() == 0:",
            "            time.sleep(60)",
            "            os._exit(0)",
            "        children += 1",
            "except OSError as e:",
            "    result = {'children': children, 'error': type(e).__name__}"
          ].join("\n"),
          limits: { pids: 16 }
        }, "fork-count")
        const result = counted.result as { children: number; error: string }
        assert.strictEqual(result.error, "BlockingIOError")
        assert.isBelow(result.children, 16)
        yield* noProcessLeft("-fork-count-")
      }))

    it.effect("a run past its timeout is killed and fails with Timeout", () =>
      Effect.gen(function*() {
        const [ms, error] = yield* timed(executeFailing({
          code: "import time\nprint('working', flush=True)\nwhile True:\n    time.sleep(0.01)",
          timeout: 1.5
        }, "sleeper"))
        assert.strictEqual(reasonOf(error)._tag, "Timeout")
        assert.isTrue(error.retryable)
        assert.isAtLeast(ms, 1400)
        assert.isBelow(ms, 10_000)
        yield* noProcessLeft("-sleeper-")
        if (backend === "docker") yield* noContainerLeft("-sleeper-")
        // A busy loop too (on the local backend the CPU-seconds limit may be what stops it).
        const busy = yield* executeFailing({ code: "while True:\n    pass", timeout: 1 }, "busy")
        assert.strictEqual(reasonOf(busy)._tag, "Timeout")
        yield* noProcessLeft("-busy-")
      }))

    it.effect("interrupting the call kills the sandboxed process and removes its container", () =>
      Effect.gen(function*() {
        const fiber = yield* Effect.fork(execute({ code: "import time\ntime.sleep(60)" }, "interrupted"))
        yield* Effect.suspend(() =>
          processesMatching("-interrupted-").length > 0 ? Effect.void : Effect.fail("not started")
        ).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 }))
        yield* Fiber.interrupt(fiber)
        yield* noProcessLeft("-interrupted-")
        if (backend === "docker") yield* noContainerLeft("-interrupted-")
      }))

    it.effect("python/validate checks syntax without running the code", () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* call("python/validate", { code: "import sys\nsys.exit(3)\n" }), { valid: true })
        assert.deepStrictEqual(
          yield* call("python/validate", { code: "x = 1\ndef broken(:\n    pass\n" }),
          { valid: false, error: { message: "invalid syntax", line: 2, column: 12 } }
        )
        const unclosed = (yield* call("python/validate", { code: "print('a'" })) as {
          valid: boolean
          error: { message: string; line: number }
        }
        assert.isFalse(unclosed.valid)
        assert.include(unclosed.error.message, "was never closed")
        assert.strictEqual(unclosed.error.line, 1)
      }))

    it.effect("runs a file from the allowed roots; a file elsewhere is a SandboxViolation", () =>
      Effect.gen(function*() {
        const run = yield* execute({ file: join(files, "script.py"), context: { n: 21 } })
        assert.strictEqual(run.result, 42)
        const outside = yield* executeFailing({ file: "/etc/hostname" })
        assert.strictEqual(reasonOf(outside)._tag, "SandboxViolation")
        const missing = yield* executeFailing({ file: join(files, "missing.py") })
        assert.strictEqual(reasonOf(missing)._tag, "NotFound")
        assert.deepStrictEqual(yield* call("python/validate", { file: join(files, "script.py") }), { valid: true })
      }))

    it.effect("a file that is not Python (or not text, or a directory) is InvalidParams quoting nothing of it", () =>
      Effect.gen(function*() {
        const notes = yield* executeFailing({ file: join(files, "notes.txt") })
        assert.strictEqual(reasonOf(notes)._tag, "InvalidParams")
        assert.match(notes.message, /notes\.txt' is not valid Python \(line 1, column \d+\)$/)
        for (const secret of ["ACME", "hunter2", "Budget"]) assert.notInclude(JSON.stringify(notes), secret)
        const validated = (yield* call("python/validate", { file: join(files, "notes.txt") })) as {
          valid: boolean
          error: { message: string; line: number }
        }
        assert.deepStrictEqual({ valid: validated.valid, message: validated.error.message }, {
          valid: false,
          message: "invalid syntax"
        })
        const binary = yield* executeFailing({ file: join(files, "binary.py") })
        assert.strictEqual(reasonOf(binary)._tag, "InvalidParams")
        assert.include(binary.message, "not UTF-8 text")
        const directory = yield* executeFailing({ file: files })
        assert.strictEqual(reasonOf(directory)._tag, "InvalidParams")
        assert.include(directory.message, "is a directory")
        // Inline code keeps its full traceback: its author wrote it.
        const inline = reasonOf(yield* executeFailing({ code: "Budget for ACME: 1.2M" }))
        assert.strictEqual(inline._tag, "ExecutionFailed")
        if (inline._tag === "ExecutionFailed") assert.include(inline.traceback ?? "", "ACME")
      }))

    it.effect("output beyond its limit is cut with a marker; a result beyond its limit fails with TooLarge", () =>
      Effect.gen(function*() {
        const flood = yield* execute({
          code: "import sys\nsys.stdout.write('x' * (3 * 1024 * 1024))\nresult = 'still here'"
        })
        assert.strictEqual(flood.result, "still here")
        assert.isBelow(flood.stdout.length, 70 * 1024)
        assert.include(flood.stdout, "bytes of output dropped")
        const fits = yield* execute({ code: "result = 'z' * (900 * 1024)" })
        assert.strictEqual((fits.result as string).length, 900 * 1024)
        const big = yield* executeFailing({ code: "result = 'y' * (3 * 1024 * 1024)" })
        assert.deepStrictEqual(reasonOf(big), { _tag: "TooLarge", limitBytes: 1024 * 1024 })
      }))

    it.effect("limits above the configured maximum are invalid params", () =>
      Effect.gen(function*() {
        const error = yield* executeFailing({ code: "pass", limits: { memory_mb: 65536 } })
        assert.strictEqual(reasonOf(error)._tag, "InvalidParams")
        assert.include(error.message, "memory_mb")
      }))
  })
}

describe("python without a sandbox", () => {
  it.effect("every python/* call fails with Unavailable saying how to enable a sandbox", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(call("python/execute", { code: "result = 1" })).pipe(
        Effect.provide(
          pythonLayer("auto", {
            docker: { socketPath: "/nonexistent/docker.sock" },
            local: { bwrap: "/nonexistent/bwrap" }
          })
        ),
        // The provider warns once that no sandbox is available; this test expects exactly that.
        Logger.withMinimumLogLevel(LogLevel.Error)
      )
      assert.strictEqual(reasonOf(error)._tag, "Unavailable")
      assert.include(error.message, "install docker.io and start dockerd")
      assert.include(error.message, "apt-get install bubblewrap")
      assert.isTrue(error.retryable)
      const validate = yield* Effect.flip(call("python/validate", { code: "x = 1" })).pipe(
        Effect.provide(pythonLayer("local", { local: { bwrap: "/nonexistent/bwrap" } }))
      )
      assert.strictEqual(reasonOf(validate)._tag, "Unavailable")
      assert.include(validate.message, "apt-get install bubblewrap")
    }))
})
