/**
 * The path policy on a real filesystem: roots, symlinks, `..`, hidden names, denied files, the lookup order of
 * relative paths, and that nothing is revealed about paths outside the roots.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { PathPolicy } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const top = realpathSync(mkdtempSync(join(tmpdir(), "gleitzeit-paths-")))
const root = join(top, "root")
const elsewhere = join(top, "elsewhere")
for (
  const dir of [root, elsewhere, join(root, "docs", "deep"), join(root, ".gleitzeit"), join(root, "flows", "data")]
) {
  mkdirSync(dir, { recursive: true })
}
const files: Record<string, string> = {
  "root/docs/a.txt": "a",
  "root/docs/deep/b.txt": "b",
  "root/docs/skip.md": "s",
  "root/docs/.hidden.txt": "h",
  "root/.env": "API_KEY=sk-secret",
  "root/.gleitzeit/gleitzeit.db": "journal",
  "root/gleitzeit.yaml": "llm: { endpoints: [{ api_key: sk-secret }] }",
  "root/docs/gleitzeit.yml": "x",
  "root/journal.db": "journal",
  "root/flows/data/only-here.txt": "in the workflow's folder",
  "root/only-cwd.txt": "in the working directory",
  "root/flows/data/both.txt": "flow",
  "root/data/both.txt": "cwd",
  "root/big.bin": "x".repeat(2048),
  "elsewhere/secret.txt": "outside"
}
mkdirSync(join(root, "data"))
for (const [path, text] of Object.entries(files)) writeFileSync(join(top, path), text)
symlinkSync(join(elsewhere, "secret.txt"), join(root, "docs", "escape.txt"))
symlinkSync(elsewhere, join(root, "docs", "escape-dir"))
symlinkSync(join(root, "docs", "a.txt"), join(root, "link-to-a.txt"))
afterAll(() => rmSync(top, { recursive: true, force: true }))

const policy = (settings: Partial<PathPolicy.Settings> = {}) =>
  PathPolicy.make({ roots: ["."], cwd: root, deny: [join(root, "journal.db")], maxFileBytes: 1024, ...settings }).pipe(
    Logger.withMinimumLogLevel(LogLevel.None)
  )

const denied = <A>(effect: Effect.Effect<A, PathPolicy.PathDenied>) =>
  Effect.flatMap(Effect.flip(effect), (error) => Effect.succeed(error))

const text = (read: PathPolicy.Read) => Buffer.from(read.bytes).toString("utf8")

describe("PathPolicy", () => {
  it.effect("reads a file inside a root, by relative or absolute path, and returns its real path", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      const relative = yield* files.readFile("docs/a.txt")
      assert.strictEqual(relative.path, join(root, "docs", "a.txt"))
      assert.strictEqual(text(relative), "a")
      assert.strictEqual(text(yield* files.readFile(join(root, "docs/deep/b.txt"))), "b")
      // A symlink that stays inside the roots is followed.
      assert.strictEqual((yield* files.readFile("link-to-a.txt")).path, join(root, "docs", "a.txt"))
    }))

  it.effect("refuses a path outside the roots with the same message whether or not it exists", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      const existing = yield* denied(files.readFile(join(elsewhere, "secret.txt")))
      const missing = yield* denied(files.readFile(join(elsewhere, "no-such-file.txt")))
      assert.strictEqual(existing.reason, "Outside")
      assert.strictEqual(missing.reason, "Outside")
      assert.strictEqual(
        existing.message.replace("secret.txt", "X"),
        missing.message.replace("no-such-file.txt", "X")
      )
      for (const path of ["/etc/shadow", "/etc/hostname", "/proc/self/environ", "/root/.ssh/id_rsa"]) {
        const error = yield* denied(files.readFile(path))
        assert.strictEqual(error.reason, "Outside", path)
        assert.include(error.message, "outside the allowed roots")
      }
    }))

  it.effect("refuses '..' even when the path would stay inside the root", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      for (const path of ["docs/../docs/a.txt", "../elsewhere/secret.txt", `${root}/docs/../../elsewhere/secret.txt`]) {
        const error = yield* denied(files.readFile(path))
        assert.strictEqual(error.reason, "Parent", path)
      }
    }))

  it.effect("resolves symlinks: a link inside a root that leads outside is refused, files and directories alike", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      const file = yield* denied(files.readFile("docs/escape.txt"))
      assert.strictEqual(file.reason, "Outside")
      assert.notInclude(file.message, elsewhere)
      const throughDir = yield* denied(files.readFile("docs/escape-dir/secret.txt"))
      assert.strictEqual(throughDir.reason, "Outside")
      const dir = yield* denied(files.listFiles("docs/escape-dir", "*"))
      assert.strictEqual(dir.reason, "Outside")
    }))

  it.effect("never reaches hidden names, Gleitzeit configurations or denied files below a root", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      for (const path of [".env", ".gleitzeit/gleitzeit.db", "docs/.hidden.txt", `${root}/.env`]) {
        assert.strictEqual((yield* denied(files.readFile(path))).reason, "Hidden", path)
      }
      for (const path of ["gleitzeit.yaml", "docs/gleitzeit.yml", "journal.db"]) {
        assert.strictEqual((yield* denied(files.readFile(path))).reason, "Denied", path)
      }
      // Naming a hidden directory as a root grants it explicitly.
      const granted = yield* policy({ roots: [join(root, ".gleitzeit")] })
      assert.strictEqual(text(yield* granted.readFile(join(root, ".gleitzeit", "gleitzeit.db"))), "journal")
    }))

  it.effect("a root of / grants nothing, and /proc, /sys and /dev are never reachable", () =>
    Effect.gen(function*() {
      const files = yield* policy({ roots: ["/", "/proc"] })
      assert.deepStrictEqual(files.roots, [])
      assert.strictEqual((yield* denied(files.readFile("/etc/hostname"))).reason, "Outside")
      assert.strictEqual((yield* denied(files.readFile("/proc/self/environ"))).reason, "Outside")
    }))

  it.effect("looks a relative path up in the working directory first, then in the workflow's folder", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      const base = join(root, "flows")
      assert.strictEqual(yield* files.resolve("data/both.txt", { base }), join(root, "data", "both.txt"))
      assert.strictEqual(yield* files.resolve("data/only-here.txt", { base }), join(base, "data", "only-here.txt"))
      assert.strictEqual(yield* files.resolve("only-cwd.txt", { base }), join(root, "only-cwd.txt"))
      const missing = yield* denied(files.resolve("data/nowhere.txt", { base }))
      assert.strictEqual(missing.reason, "NotFound")
      assert.include(missing.message, `the working directory (${root})`)
      assert.include(missing.message, `the workflow's folder (${base})`)
      // A workflow folder outside the roots is not searched, and its contents are not revealed.
      const outsideBase = yield* denied(files.resolve("secret.txt", { base: elsewhere }))
      assert.strictEqual(outsideBase.reason, "NotFound")
      assert.notInclude(outsideBase.message, elsewhere)
    }))

  it.effect("a directory where a file is expected (and the reverse) is a typed error; a big file is TooLarge", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      const dir = yield* denied(files.readFile("docs"))
      assert.strictEqual(dir.reason, "NotAFile")
      assert.include(dir.message, "is a directory")
      assert.strictEqual((yield* denied(files.listFiles("docs/a.txt", "*"))).reason, "NotADirectory")
      const big = yield* denied(files.readFile("big.bin"))
      assert.strictEqual(big.reason, "TooLarge")
      assert.strictEqual(big.limitBytes, 1024)
      // A caller may lower the limit, never raise it.
      assert.strictEqual((yield* denied(files.readFile("big.bin", { maxBytes: 4096 }))).reason, "TooLarge")
      assert.strictEqual((yield* denied(files.readFile("docs/a.txt", { maxBytes: 0 }))).reason, "TooLarge")
    }))

  it.effect("lists a directory's matching files sorted, leaving out hidden names, symlinks and denied files", () =>
    Effect.gen(function*() {
      const files = yield* policy()
      assert.deepStrictEqual(yield* files.listFiles("docs", "**/*.txt"), [
        join(root, "docs", "a.txt"),
        join(root, "docs", "deep", "b.txt")
      ])
      assert.deepStrictEqual(yield* files.listFiles("docs", "*"), [
        join(root, "docs", "a.txt"),
        join(root, "docs", "skip.md")
      ])
      assert.strictEqual((yield* denied(files.listFiles(elsewhere, "*"))).reason, "Outside")
      assert.strictEqual((yield* denied(files.listFiles(".gleitzeit", "*"))).reason, "Hidden")
      const capped = yield* policy({ maxListEntries: 3 })
      assert.strictEqual((yield* denied(capped.listFiles("docs", "**/*"))).reason, "TooLarge")
    }))
})
