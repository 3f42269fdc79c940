/**
 * Hostile workflow files the loader rejects, through the binary: every problem at its line and column, exit 2.
 */
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { copyFileSync } from "node:fs"
import { join, resolve } from "node:path"
import * as Cli from "./support/cli.js"

const fixtures = resolve(import.meta.dirname, "fixtures/hostile")

let ws: ReturnType<typeof Cli.workspace>
beforeEach(() => {
  Cli.requireBuilt()
  ws = Cli.workspace()
})
afterEach(() => ws.cleanup())

const validate = (fixture: string) => {
  copyFileSync(join(fixtures, fixture), join(ws.dir, fixture))
  return Cli.run(["validate", fixture], ws.opts)
}

describe("hostile workflow files through validate", () => {
  it("UTF-16 without a byte-order mark is reported as UTF-16 (exit 2); with one it is decoded", async () => {
    const bare = await validate("utf16-no-bom.yaml")
    assert.strictEqual(bare.code, 2, bare.stderr)
    assert.include(bare.stderr, "utf16-no-bom.yaml is encoded as UTF-16; save it as UTF-8")
    const marked = await validate("utf16.yaml")
    assert.strictEqual(marked.code, 0, marked.stderr)
  })

  it("unbounded delays and timeouts, unreferenceable ids and wrong shapes are positioned errors (exit 2)", async () => {
    const delays = await validate("retry-delays-unbounded.yaml")
    assert.strictEqual(delays.code, 2, delays.stderr)
    assert.include(delays.stderr, "retry-delays-unbounded.yaml:9:65: tasks[0].retry.base_delay: must be at most 86400")
    const ids = await validate("ids-unreferenceable.yaml")
    assert.strictEqual(ids.code, 2, ids.stderr)
    assert.include(ids.stderr, "ids-unreferenceable.yaml:4:11: tasks[0].id: \"a.b\" cannot be referenced")
    assert.notInclude(ids.stderr, "\u001b[2J")
    const shapes = await validate("wrong-shapes.yaml")
    assert.strictEqual(shapes.code, 2, shapes.stderr)
    for (const key of ["protocol", "template", "batch"]) {
      assert.match(shapes.stderr, new RegExp(`:\\d+:\\d+: ${key}: must be`))
    }
  })
})
