/**
 * The two passes of param substitution: task references and Python literals in the engine's pass, secrets in the
 * executor's, and that nothing a task returned can pose as a secret reference.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Json, Substitution } from "@gleitzeit/core"
import * as Either from "effect/Either"

const results: Record<string, Json.Json> = {
  gen: { result: { processed: true, items: [1, 2.5, null], name: "O'Brien \"x\"" } },
  text: { response: "costs $5 and ${secrets.TOKEN}" },
  plain: { response: "hello" }
}
const lookup = (task: string) => results[task]
const secrets: Record<string, string> = { TOKEN: "tok-123456", API_KEY: "sk-abcdef" }
const secret = (name: string) => secrets[name]

/** Both passes, as the coordinator and the executor run them. */
const both = (method: string, params: Json.Json) => {
  const first = Substitution.params(method, params, lookup)
  if (Either.isLeft(first)) throw new Error(first.left.message)
  return Substitution.secrets(first.right, secret)
}

const value = (method: string, params: Json.Json) => {
  const out = both(method, params)
  if (Either.isLeft(out)) throw new Error(out.left.message)
  return out.right
}

describe("Substitution", () => {
  it("secrets are left by the engine's pass and resolved by the executor's; the values used come back", () => {
    const params = { headers: { authorization: "Bearer ${secrets.TOKEN}" }, key: "${secrets.API_KEY}", n: 1 }
    const first = Substitution.params("http/request", params, lookup)
    assert.deepStrictEqual(first, Either.right(params))
    const out = value("http/request", params)
    assert.deepStrictEqual(out.value, { headers: { authorization: "Bearer tok-123456" }, key: "sk-abcdef", n: 1 })
    assert.deepStrictEqual([...out.used].sort(), ["sk-abcdef", "tok-123456"])
  })

  it("a task result that contains '${secrets.NAME}' stays text: it cannot pull a secret", () => {
    const out = value("http/request", { url: "https://x/?q=${text.response}", whole: "${text.response}" })
    assert.deepStrictEqual(out.value, {
      url: "https://x/?q=costs $5 and ${secrets.TOKEN}",
      whole: "costs $5 and ${secrets.TOKEN}"
    })
    assert.deepStrictEqual(out.used, [])
    const typed = value("fn/x", { data: "${gen.result}" })
    assert.deepStrictEqual(typed.value, { data: (results["gen"] as { result: Json.Json }).result })
  })

  it("literal dollars and escaped references survive both passes unchanged", () => {
    const out = value("fn/x", { a: "$$${plain.response} $${secrets.TOKEN} $$ $5", b: ["$", "${plain.response}$"] })
    assert.deepStrictEqual(out.value, { a: "$${plain.response} ${secrets.TOKEN} $$ $5", b: ["$", "hello$"] })
    assert.deepStrictEqual(out.used, [])
  })

  it("an unknown secret fails the executor's pass, naming how to configure it", () => {
    const out = both("fn/x", { key: "${secrets.MISSING}" })
    assert.isTrue(Either.isLeft(out))
    if (Either.isLeft(out)) {
      assert.include(out.left.message, "no secret 'MISSING' is configured")
      assert.include(out.left.message, "GLEITZEIT_SECRET_MISSING")
    }
  })

  it("inside python/execute code, substituted values are Python literals; elsewhere JSON", () => {
    const code =
      "data = ${gen.result}\nname = '${plain.response}'\nflag = ${gen.result.processed}\nnone = ${gen.result.items[2]}"
    const out = value("python/execute", {
      code,
      context: { data: "${gen.result.items}", text: "x ${gen.result.items}" }
    })
    const params = out.value as { code: string; context: Json.JsonObject }
    assert.strictEqual(
      params.code,
      "data = {\"processed\": True, \"items\": [1, 2.5, None], \"name\": \"O'Brien \\\"x\\\"\"}\nname = 'hello'\n" +
        "flag = True\nnone = None"
    )
    assert.deepStrictEqual(params.context, { data: [1, 2.5, null], text: "x [1,2.5,null]" })
    // A whole-string reference in code is source too: a string stays as it is.
    assert.strictEqual((value("python/execute", { code: "${plain.response}" }).value as { code: string }).code, "hello")
  })
})
