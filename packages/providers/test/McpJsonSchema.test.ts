/**
 * The JSON Schema → Effect Schema conversion used for MCP tool params: the common subset is enforced with paths,
 * everything else is accepted and left to the server, and decoding never changes the value.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Json, Protocol } from "@gleitzeit/core"
import * as Either from "effect/Either"
import { toolParams } from "../src/internal/mcp/jsonSchema.js"

/** Checks params as the engine does (Protocol.checkParams: every issue, one per path). */
const check = (schema: unknown, value: unknown) => {
  const spec = Protocol.method({ name: "mcp/t/tool", protocol: "mcp/v1", description: "", params: toolParams(schema) })
  const checked = Protocol.checkParams(spec, value as Json.Json)
  return Either.isRight(checked)
    ? { ok: true as const, value: checked.right }
    : { ok: false as const, issues: checked.left }
}

const tool = {
  type: "object",
  properties: {
    path: { type: "string", minLength: 1 },
    count: { type: "integer", minimum: 1, maximum: 10 },
    mode: { type: "string", enum: ["read", "write"] },
    tags: { type: "array", items: { type: "string" }, maxItems: 2 },
    edits: {
      type: "array",
      items: {
        type: "object",
        properties: { oldText: { type: "string" }, newText: { type: "string" } },
        required: ["oldText", "newText"],
        additionalProperties: false
      }
    },
    limit: { type: ["number", "null"] },
    either: { anyOf: [{ type: "string" }, { type: "boolean" }] },
    when: { type: "string", format: "date-time" },
    ref: { $ref: "#/definitions/x" }
  },
  required: ["path"],
  $schema: "http://json-schema.org/draft-07/schema#"
}

describe("MCP tool params from JSON Schema", () => {
  it("accepts valid params unchanged, extra keys included", () => {
    const params = {
      path: "/a",
      count: 3,
      mode: "read",
      tags: ["x"],
      edits: [{ oldText: "a", newText: "b" }],
      limit: null,
      either: true,
      when: "anything",
      ref: { any: 1 },
      extra: "kept"
    }
    const r = check(tool, params)
    assert.isTrue(r.ok)
    assert.deepStrictEqual(r.ok && r.value, params)
  })

  it("reports each violation with its path", () => {
    const r = check(tool, {
      count: 1.5,
      mode: "delete",
      tags: ["a", "b", "c"],
      edits: [{ oldText: "a" }],
      either: 3
    })
    assert.isFalse(r.ok)
    const paths = r.ok ? [] : r.issues.map((i) => i.path.map(String).join("."))
    for (const p of ["path", "count", "mode", "tags", "edits.0.newText", "either"]) assert.include(paths, p)
  })

  it("additionalProperties: false rejects unknown keys", () => {
    const r = check(tool, { path: "/a", edits: [{ oldText: "a", newText: "b", bogus: 1 }] })
    assert.isFalse(r.ok)
    assert.deepStrictEqual(r.ok ? [] : r.issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`), [
      "edits.0.bogus: unexpected property (the tool's schema does not allow it)"
    ])
  })

  it("a tool without a usable schema takes any object", () => {
    assert.isTrue(check(undefined, { anything: [1, 2] }).ok)
    assert.isTrue(check({ type: "object" }, {}).ok)
    assert.isFalse(check({ type: "object" }, "text").ok)
  })
})
