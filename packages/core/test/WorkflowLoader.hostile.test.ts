/**
 * Hostile workflow files (test/fixtures/hostile) the loader must reject with positioned errors: unbounded delays
 * and timeouts, task ids no reference can name, top-level keys of the wrong shape, UTF-16 text.
 */
import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, Retry } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { assertAt, catalog, invalid, issueAt, load, unparsable, yaml } from "./helpers.js"

const fixtures = resolve(import.meta.dirname, "../../../test/fixtures/hostile")
const fixture = (name: string) => readFileSync(join(fixtures, name), "utf8")

describe("hostile workflow files", () => {
  it.effect("retry delays and timeouts are bounded, each excess reported at its position", () =>
    Effect.gen(function*() {
      const text = fixture("retry-delays-unbounded.yaml")
      const error = yield* invalid(text, { catalog })
      assert.include(issueAt(error, "timeout").message, "must be at most 604800 seconds")
      assertAt(issueAt(error, "timeout"), text, "1e15")
      assertAt(issueAt(error, "tasks[0].timeout"), text, "9999999999")
      const base = issueAt(error, "tasks[0].retry.base_delay")
      assert.include(base.message, "must be at most 86400 seconds (1 day), got 1000000000000")
      assertAt(base, text, "1e12")
      assertAt(issueAt(error, "tasks[0].retry.max_delay"), text, "1e13")
      const http = issueAt(error, "tasks[1].params.timeout")
      assert.strictEqual(http.code, ErrorCode.InvalidParams)
      // The largest accepted values still load.
      const { workflow } = yield* load(
        yaml(
          "timeout: 604800",
          "tasks:",
          "  - { id: a, method: mcp/tool.echo, params: { message: hi }, timeout: 604800,",
          "      retry: { base_delay: 86400, max_delay: 86400 } }"
        ),
        { catalog }
      )
      assert.strictEqual(workflow.tasks[0]!.retry.maxDelayMs, Retry.maxDelaySeconds * 1000)
    }))

  it.effect("task ids that no reference could name are rejected with their position", () =>
    Effect.gen(function*() {
      const text = fixture("ids-unreferenceable.yaml")
      const error = yield* invalid(text, { catalog })
      const dotted = issueAt(error, "tasks[0].id")
      assert.include(dotted.message, "\"a.b\" cannot be referenced: a task id may not contain \".\"")
      assertAt(dotted, text, "a.b")
      assert.include(issueAt(error, "tasks[1].id").message, "may not contain \"[\"")
      assert.include(issueAt(error, "tasks[2].id").message, "may not contain \"$\"")
      const terminal = issueAt(error, "tasks[3].id")
      assert.include(terminal.message, "may not contain \"\\u001b\"")
      assert.notInclude(terminal.message, "\u001b")
      // Ids the predecessor generates, and names with anything in them, stay fine.
      yield* load(
        yaml(
          "tasks:",
          "  - { id: process-report-txt-0, name: 'Process report.txt', method: mcp/tool.echo, params: { message: hi } }",
          "  - { id: task-1f2e3d4c, method: mcp/tool.echo, params: { message: '${process-report-txt-0.response}' } }"
        ),
        { catalog }
      )
    }))

  it.effect("providers, protocol, template and batch of the wrong shape are rejected, not ignored", () =>
    Effect.gen(function*() {
      const text = fixture("wrong-shapes.yaml")
      const error = yield* invalid(text, { catalog })
      const providers = yield* invalid(yaml("providers: 42", "tasks: [{ id: a, method: mcp/tool.echo }]"), { catalog })
      assert.include(issueAt(providers, "providers").message, "must be a mapping, got number 42")
      assert.include(issueAt(error, "protocol").message, "must be a string, got a list")
      assertAt(issueAt(error, "protocol"), text, "[1]")
      assert.include(issueAt(error, "template").message, "must be a mapping, got number 42")
      assert.include(issueAt(error, "batch").message, "must be a mapping, got number 42")
      const half = yield* invalid(
        yaml("type: batch", "batch: { directory: docs }", "template: { method: mcp/tool.echo }"),
        { catalog, listFiles: () => Effect.succeed([]) }
      )
      assert.include(issueAt(half, "batch.pattern").message, "must be a non-empty string")
    }))

  it.effect("UTF-16 text (seen through a UTF-8 decoding) is reported as UTF-16, not as a garbled document", () =>
    Effect.gen(function*() {
      for (const name of ["utf16.yaml", "utf16-no-bom.yaml"]) {
        const error = yield* unparsable(fixture(name), { file: name })
        assert.strictEqual(error.message, `${name} is encoded as UTF-16; save it as UTF-8`)
      }
      const binary = yield* unparsable("name: x\n\u0000\u0001\u0002garbage", { file: "b.yaml" })
      assert.strictEqual(binary.message, "b.yaml contains a NUL character (offset 8): it is not a text file")
    }))
})
