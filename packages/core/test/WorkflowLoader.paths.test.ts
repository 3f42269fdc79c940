/**
 * Host path params at load time: the loader hands every literal path a method declares in `hostPaths` to the
 * policy it is given, uses the path the policy answers, and reports refusals with their position.
 */
import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, LlmProtocol, Protocol, PythonProtocol } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import { assertAt, invalid, issueAt, load, yaml } from "./helpers.js"

const catalog = Protocol.catalog([LlmProtocol.spec, PythonProtocol.spec])

/** A stand-in policy with no IO: paths under /granted are allowed (made absolute), others refused. */
const seen: Array<string> = []
const hostPath = (path: string) => {
  seen.push(path)
  return path.startsWith("/granted/") || !path.startsWith("/")
    ? Effect.succeed(path.startsWith("/") ? path : `/granted/${path}`)
    : Effect.fail(`'${path}' is outside the allowed roots`)
}

describe("host path params at load time", () => {
  it("every method whose params name host files declares them", () => {
    const declared = Object.fromEntries(catalog.methods.map((m) => [m.name, m.hostPaths ?? []]))
    assert.deepStrictEqual(declared, {
      "llm/chat": ["file_path", "image_path", "image_paths"],
      "llm/complete": ["file_path", "image_path", "image_paths"],
      "llm/vision": ["file_path", "image_path", "image_paths"],
      "llm/embed": ["file_path"],
      "llm/list_models": [],
      "python/execute": ["file"],
      "python/validate": ["file"]
    })
  })

  it.effect("resolves literal paths through the policy, leaves references to the execution", () =>
    Effect.gen(function*() {
      seen.length = 0
      const { workflow } = yield* load(
        yaml(
          "tasks:",
          "  - { id: a, method: python/execute, params: { file: scripts/count.py } }",
          "  - id: b",
          "    method: llm/vision",
          "    parameters: { model: m, prompt: hi, image_paths: [images/x.png, /granted/y.png], file_path: '${a.result}' }"
        ),
        { catalog, hostPath }
      )
      assert.deepStrictEqual(workflow.tasks[0]!.params, { file: "/granted/scripts/count.py" })
      assert.deepStrictEqual(workflow.tasks[1]!.params["image_paths"], ["/granted/images/x.png", "/granted/y.png"])
      assert.strictEqual(workflow.tasks[1]!.params["file_path"], "${a.result}")
      assert.deepStrictEqual(seen, ["scripts/count.py", "images/x.png", "/granted/y.png"])
    }))

  it.effect("a refused path is an InvalidParams issue at the param, with line and column", () =>
    Effect.gen(function*() {
      const text = yaml(
        "tasks:",
        "  - id: leak",
        "    method: llm/chat",
        "    params:",
        "      model: m",
        "      messages: [{ role: user, content: hi }]",
        "      file_path: /proc/self/environ",
        "  - id: shadow",
        "    method: llm/vision",
        "    params: { model: m, prompt: hi, image_paths: [ok.png, /etc/shadow] }"
      )
      const error = yield* invalid(text, { catalog, hostPath })
      const leak = issueAt(error, "tasks[0].params.file_path")
      assert.strictEqual(leak.code, ErrorCode.InvalidParams)
      assert.include(leak.message, "outside the allowed roots")
      assertAt(leak, text, "/proc/self/environ")
      assertAt(issueAt(error, "tasks[1].params.image_paths[1]"), text, "/etc/shadow")
    }))
})
