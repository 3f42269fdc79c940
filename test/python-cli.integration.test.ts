/**
 * Python tasks through the `gleitzeit` binary, on both sandbox backends: a failed task's traceback is shown in the
 * progress output (not only in `--json`), and `result` prints it too.
 */
import { afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as SandboxTestConfig from "../packages/providers/test/SandboxTestConfig.js"
import * as Cli from "./support/cli.js"

const components = Effect.runSync(SandboxTestConfig.load)

let ws: ReturnType<typeof Cli.workspace>
const opts = () => ws.opts

beforeAll(() => Cli.requireBuilt())
beforeEach(() => {
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

const failing = [
  "name: failing python",
  "tasks:",
  "  - id: compute",
  "    method: python/execute",
  "    params:",
  "      code: |",
  "        def divide(values):",
  "            return sum(values) / len(values[3:])",
  "        result = divide(context['values'])",
  "      context: { values: [1, 2, 3] }",
  ""
].join("\n")

describe.each(["local", "docker"] as const)("a failed Python task (%s sandbox)", (backend) => {
  it("shows its traceback under the failure line, and `result` prints it", async () => {
    ws.write(
      "gleitzeit.yaml",
      `python:\n  backend: ${backend}\n  docker: { socket: ${components.socketPath}, image: ${components.image} }\n`
    )
    const run = await Cli.run(["run", ws.write("failing.yaml", failing)], opts())
    assert.strictEqual(run.code, 1, run.stdout + run.stderr)
    const lines = run.stdout.split("\n")
    const failed = lines.findIndex((line) => line.startsWith("  ✗ compute failed: ZeroDivisionError"))
    assert.isAtLeast(failed, 0, run.stdout)
    const traceback = lines.slice(failed + 1).filter((line) => line.startsWith("      "))
    assert.match(traceback.join("\n"), /Traceback \(most recent call last\)/)
    assert.match(traceback.join("\n"), /line 2, in divide/)
    assert.match(traceback.join("\n"), /ZeroDivisionError: division by zero/)
    const runId = run.stdout.match(/▶ run (\w+)/)![1]!
    const result = await Cli.run(["result", runId, "compute"], opts())
    assert.strictEqual(result.code, 1)
    assert.match(result.stdout, /line 2, in divide/)
  })
})
