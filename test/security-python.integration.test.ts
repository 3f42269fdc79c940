/**
 * The trust boundary around sandboxed Python, end to end through the binary with the local (bubblewrap) sandbox
 * and the hostile workflows of test/fixtures/hostile. Needs bubblewrap (scripts/setup-test-infra.sh).
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { copyFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Cli from "./support/cli.js"

const fixtures = resolve(import.meta.dirname, "fixtures/hostile")

let ws: ReturnType<typeof Cli.workspace>
beforeEach(() => {
  Cli.requireBuilt()
  ws = Cli.workspace()
  writeFileSync(join(ws.dir, "notes.txt"), "meeting with ACME: budget 1.2M, password hunter2 (do not share)\n")
  writeFileSync(join(ws.dir, "gleitzeit.yaml"), "python: { backend: local }\n")
})
afterEach(() => ws.cleanup())

/** Copies a hostile fixture into the workspace and runs `gleitzeit ARGS` on it there. */
const gleitzeit = (command: string, fixture: string, ...args: Array<string>) => {
  copyFileSync(join(fixtures, fixture), join(ws.dir, fixture))
  return Cli.run([command, fixture, ...args], ws.opts)
}

describe("sandboxed Python through the binary", () => {
  it("a Python file that is not Python fails with InvalidParams quoting nothing of it", async () => {
    const result = await gleitzeit("run", "python-file-not-python.yaml", "--json")
    assert.strictEqual(result.code, 1, result.stderr)
    const summary = JSON.parse(result.stdout) as {
      tasks: Array<{ error: { reason: { _tag: string }; message: string } }>
    }
    const error = summary.tasks[0]!.error
    assert.strictEqual(error.reason._tag, "InvalidParams")
    assert.match(error.message, /notes\.txt' is not valid Python \(line 1, column \d+\)$/)
    for (const secret of ["ACME", "budget", "hunter2", "meeting"]) {
      assert.notInclude(result.stdout, secret)
      assert.notInclude(result.stderr, secret)
    }
  })
})
