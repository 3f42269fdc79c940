/**
 * The path policy end to end, through the binary, with the hostile workflows of test/fixtures/hostile: a workflow
 * reaches host files only inside the configured roots (default: the working directory), never hidden files, the
 * configuration or the journal, and learns nothing about paths outside the roots.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Cli from "./support/cli.js"

const fixtures = resolve(import.meta.dirname, "fixtures/hostile")

let ws: ReturnType<typeof Cli.workspace>
beforeEach(() => {
  Cli.requireBuilt()
  ws = Cli.workspace()
  writeFileSync(join(ws.dir, ".env"), "API_KEY=sk-live-0123456789\n")
  writeFileSync(join(ws.dir, "notes.txt"), "meeting with ACME: budget 1.2M, password hunter2 (do not share)\n")
  mkdirSync(join(ws.dir, "docs"))
  mkdirSync(join(ws.dir, ".gleitzeit"))
  writeFileSync(join(ws.dir, ".gleitzeit", "secret.txt"), "x")
  symlinkSync("/etc/hostname", join(ws.dir, "escape.txt"))
  writeFileSync(join(ws.dir, "gleitzeit.yaml"), "python: { backend: local }\n")
})
afterEach(() => ws.cleanup())

/** Copies a hostile fixture into the workspace and runs `gleitzeit ARGS` on it there. */
const gleitzeit = (command: string, fixture: string, ...args: Array<string>) => {
  copyFileSync(join(fixtures, fixture), join(ws.dir, fixture))
  return Cli.run([command, fixture, ...args], ws.opts)
}

describe("host paths in workflows", () => {
  it("validate refuses host paths outside the roots at their line and column, revealing nothing about them", async () => {
    const environ = await gleitzeit("validate", "llm-file-path-environ.yaml")
    assert.strictEqual(environ.code, 2, environ.stderr)
    assert.include(
      environ.stderr,
      "llm-file-path-environ.yaml:9:18: tasks[0].params.file_path: '/proc/self/environ' is outside the allowed roots"
    )
    const images = await gleitzeit("validate", "llm-image-paths-outside.yaml")
    assert.strictEqual(images.code, 2, images.stderr)
    const existing = /image_paths\[0\]: (.*)/.exec(images.stderr)![1]!
    const missing = /image_paths\[1\]: (.*)/.exec(images.stderr)![1]!
    assert.strictEqual(existing.replace("/etc/hostname", "X"), missing.replace("/etc/no-such-file-here", "X"))
    assert.notInclude(images.stderr, "does not exist")
  })

  it("'..', symlinks leading out, hidden files, the configuration and the journal are refused", async () => {
    const dotdot = await gleitzeit("validate", "llm-file-path-dotdot.yaml")
    assert.strictEqual(dotdot.code, 2, dotdot.stderr)
    assert.include(dotdot.stderr, "contains '..'")
    const symlink = await gleitzeit("validate", "llm-file-path-symlink.yaml")
    assert.strictEqual(symlink.code, 2, symlink.stderr)
    assert.include(symlink.stderr, "'escape.txt' is outside the allowed roots")
    const dotenv = await gleitzeit("validate", "python-file-dotenv.yaml")
    assert.strictEqual(dotenv.code, 2, dotenv.stderr)
    assert.include(dotenv.stderr, "'.env' names a hidden file or directory")
    assert.notInclude(dotenv.stderr, "sk-live")
    const config = await gleitzeit("validate", "python-file-config.yaml")
    assert.strictEqual(config.code, 2, config.stderr)
    assert.include(config.stderr, "tasks[0].params.file: 'gleitzeit.yaml' is not readable by workflows")
    assert.include(config.stderr, "tasks[1].params.file_path: 'journal.db' is not readable by workflows")
  })

  it("a directory given as a Python file is a clear validation error, not Internal: EISDIR", async () => {
    const result = await gleitzeit("validate", "python-file-directory.yaml")
    assert.strictEqual(result.code, 2, result.stderr)
    assert.include(result.stderr, "tasks[0].params.file: 'docs' is a directory; a file is expected")
    assert.notInclude(result.stderr, "EISDIR")
  })

  it("a batch directory outside the roots, or hidden, is refused", async () => {
    const outside = await gleitzeit("validate", "batch-directory-outside.yaml")
    assert.strictEqual(outside.code, 2, outside.stderr)
    assert.include(outside.stderr, "'/etc' is outside the allowed roots")
    const hidden = await gleitzeit("validate", "batch-directory-hidden.yaml")
    assert.strictEqual(hidden.code, 2, hidden.stderr)
    assert.include(hidden.stderr, "'.gleitzeit' names a hidden file or directory")
  })
})
