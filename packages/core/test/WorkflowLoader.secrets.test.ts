/**
 * `${secrets.NAME}` in workflows: allowed in params (no dependency), malformed or in outputs rejected with a
 * position, `secrets` reserved as a task id, and literal credentials in params warned about.
 */
import { assert, describe, it } from "@effect/vitest"
import { ErrorCode } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { assertAt, catalog, invalid, issueAt, load, yaml } from "./helpers.js"

describe("secret references in workflows", () => {
  it.effect("are allowed in params, add no dependency and are kept as written in the spec", () =>
    Effect.gen(function*() {
      const { warnings, workflow } = yield* load(
        yaml(
          "tasks:",
          "  - id: call",
          "    method: http/request",
          "    params:",
          "      url: https://api.example.com/v1",
          "      headers: { authorization: 'Bearer ${secrets.API_TOKEN}' }"
        ),
        { catalog }
      )
      assert.deepStrictEqual(workflow.tasks[0]!.dependencies, [])
      assert.deepStrictEqual(workflow.tasks[0]!.params["headers"], { authorization: "Bearer ${secrets.API_TOKEN}" })
      assert.deepStrictEqual(warnings, [])
    }))

  it.effect("a malformed secret reference, one in outputs, and a task called 'secrets' are positioned errors", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - { id: secrets, method: mcp/tool.echo, params: { message: hi } }",
        "  - { id: b, method: mcp/tool.echo, params: { message: '${secrets.A.B}' } }",
        "  - { id: c, method: mcp/tool.echo, params: { message: '${secrets.not-a-name}' } }",
        "outputs:",
        "  leaked: '${secrets.TOKEN}'"
      )
      const error = yield* invalid(text, { catalog })
      assert.include(issueAt(error, "tasks[0].id").message, "'secrets' is reserved")
      const nested = issueAt(error, "tasks[1].params.message")
      assert.strictEqual(nested.code, ErrorCode.ParameterError)
      assert.include(nested.message, "a secret reference is ${secrets.NAME}")
      assertAt(nested, text, "'${secrets.A.B}'")
      assert.include(issueAt(error, "tasks[2].params.message").message, "a secret reference is")
      assert.include(issueAt(error, "outputs.leaked").message, "outputs cannot use secrets")
    }))

  it.effect("a credential written into params is a warning that points to ${secrets.NAME}", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: call",
        "    method: http/request",
        "    params:",
        "      url: https://api.example.com/v1",
        "      headers: { Authorization: Bearer sk-live-123 }"
      )
      const { warnings } = yield* load(text, { catalog })
      assert.strictEqual(warnings.length, 1)
      assert.strictEqual(warnings[0]!.path, "tasks[0].params.headers.Authorization")
      assert.include(warnings[0]!.message, "use ${secrets.NAME} instead")
      assertAt(warnings[0]!, text, "Bearer sk-live-123")
    }))
})
