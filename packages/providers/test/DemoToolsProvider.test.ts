import { assert, describe, it } from "@effect/vitest"
import { DemoToolsProtocol } from "@gleitzeit/core"
import { DemoToolsProvider } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { call } from "./helpers.js"

const tools = DemoToolsProvider.provider

describe("DemoToolsProvider", () => {
  it.effect("mcp/tool.echo answers {response: message}", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.echo", { message: "hello" }), { response: "hello" })
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.echo", { message: "" }), { response: "" })
    }))

  it.effect("mcp/tool.add and mcp/tool.multiply answer {result: n, response: \"n\"}", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.add", { a: 2, b: 3 }), { result: 5, response: "5" })
      assert.deepStrictEqual(
        yield* call(tools, "mcp/tool.add", { a: -1.5, b: 0.25 }),
        { result: -1.25, response: "-1.25" }
      )
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.multiply", { a: 6, b: 7 }), { result: 42, response: "42" })
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.multiply", { a: 2.5, b: -2 }), { result: -5, response: "-5" })
    }))

  it.effect("mcp/tool.concat joins strings (and numbers) with the separator, none by default", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(
        yield* call(tools, "mcp/tool.concat", { strings: ["a", "b", "c"], separator: ", " }),
        { response: "a, b, c" }
      )
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.concat", { strings: ["x", 1, "y"] }), { response: "x1y" })
      assert.deepStrictEqual(yield* call(tools, "mcp/tool.concat", { strings: [] }), { response: "" })
    }))

  it.effect("serves exactly the methods of the demo tools protocol", () =>
    Effect.sync(() => {
      assert.strictEqual(tools.spec, DemoToolsProtocol.spec)
      assert.deepStrictEqual(tools.spec.methods.map((m) => m.name), [
        "mcp/tool.echo",
        "mcp/tool.add",
        "mcp/tool.multiply",
        "mcp/tool.concat"
      ])
    }))

  it.effect("results match the methods' result schemas", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["mcp/tool.echo", { message: "m" }],
        ["mcp/tool.add", { a: 1, b: 2 }],
        ["mcp/tool.multiply", { a: 3, b: 4 }],
        ["mcp/tool.concat", { strings: ["a"], separator: "-" }]
      ]
      for (const [method, params] of cases) {
        const spec = tools.spec.methods.find((m) => m.name === method)!
        const result = yield* call(tools, method, params)
        assert.isTrue(Either.isRight(Schema.decodeUnknownEither(spec.result!)(result)), method)
      }
    }))
})
