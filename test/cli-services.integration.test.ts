/**
 * The `gleitzeit` binary when a service beside the journal is unreachable (needs the test PostgreSQL).
 */
import { afterEach, assert, beforeAll, beforeEach, describe, it } from "@effect/vitest"
import * as Cli from "./support/cli.js"

let ws: ReturnType<typeof Cli.workspace>

beforeAll(() => Cli.requireBuilt())
beforeEach(() => {
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

describe("exit statuses (with PostgreSQL)", () => {
  it("an unreachable Redis is one line and exit 69", async () => {
    const env = {
      GLEITZEIT_DATABASE: "postgres://postgres@127.0.0.1:5432/postgres",
      GLEITZEIT_REDIS: "redis://127.0.0.1:1"
    }
    const result = await Cli.run(["list"], { cwd: ws.dir, db: undefined, env })
    assert.strictEqual(result.code, 69, result.stderr)
    assert.lengthOf(result.stderr.trimEnd().split("\n"), 1, result.stderr)
    assert.include(result.stderr, "Redis at redis://127.0.0.1:1 is unreachable")
  })
})
