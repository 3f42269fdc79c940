/**
 * The one redaction of printed text, and the scrubbing of known secret values.
 */
import { assert, describe, it } from "@effect/vitest"
import { Redact } from "@gleitzeit/core"

describe("Redact", () => {
  it("hides URL passwords (keeping the user) and tokens in userinfo", () => {
    assert.strictEqual(
      Redact.text("GET https://bob:hunter2@api.example.com/v1 failed"),
      "GET https://bob:***@api.example.com/v1 failed"
    )
    assert.strictEqual(
      Redact.text("postgres://postgres:pw@127.0.0.1:5432/db"),
      "postgres://postgres:***@127.0.0.1:5432/db"
    )
    assert.strictEqual(Redact.text("git clone https://ghp_abc123@github.com/x"), "git clone https://***@github.com/x")
    assert.strictEqual(Redact.text("https://bob:***@host"), "https://bob:***@host")
    assert.strictEqual(Redact.text("write to bob@example.com"), "write to bob@example.com")
  })

  it("hides the values of secret-looking query keys, and only those", () => {
    assert.strictEqual(
      Redact.text("https://x/search?q=tea&api_key=sk-1&Token=abc;sig=zz&access_token=t#top"),
      "https://x/search?q=tea&api_key=***&Token=***;sig=***&access_token=***#top"
    )
    assert.strictEqual(Redact.text("https://x/cb?code=0a1b&state=s"), "https://x/cb?code=***&state=s")
    assert.strictEqual(Redact.text("https://x/?keyboard=1&monkey=2"), "https://x/?keyboard=1&monkey=2")
  })

  it("hides secret-looking JSON fields (also inside JSON strings) and authorization headers", () => {
    assert.strictEqual(
      Redact.text("{\"headers\": {\"Authorization\": \"Bearer a.b\", \"accept\": \"x\"}, \"password\": \"p\\\"q\"}"),
      "{\"headers\": {\"Authorization\": \"***\", \"accept\": \"x\"}, \"password\": \"***\"}"
    )
    assert.strictEqual(Redact.text("\"{\\\"api_key\\\": \\\"k\\\"}\""), "\"{\\\"api_key\\\": \\\"***\\\"}\"")
    assert.strictEqual(Redact.text("Authorization: Bearer abc123, next"), "Authorization: ***, next")
    assert.strictEqual(
      Redact.text("{\"total_tokens\": 12, \"code\": \"x = 1\"}"),
      "{\"total_tokens\": 12, \"code\": \"x = 1\"}"
    )
  })

  it("replaces known secret values anywhere in a value; too short ones are left alone", () => {
    assert.deepStrictEqual(
      Redact.values({ a: "key sk-abcdef here", list: ["sk-abcdef"], "sk-abcdef": 1, n: 5 }, ["sk-abcdef", "ab"]),
      { a: "key *** here", list: ["***"], "***": 1, n: 5 }
    )
    assert.strictEqual(Redact.valuesInText("token tok-9999 end", ["tok-9999"]), "token *** end")
  })
})
