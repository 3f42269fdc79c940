import { assert, describe, it } from "@effect/vitest"
import { DemoToolsProtocol, HttpProtocol, Protocol } from "@gleitzeit/core"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { catalog } from "./helpers.js"

const issuesOf = (method: string, params: Parameters<typeof Protocol.checkParams>[1]) => {
  const spec = catalog.lookup(method)
  if (spec === undefined) return assert.fail(`no method ${method}`)
  const checked = Protocol.checkParams(spec, params)
  return Either.isLeft(checked) ? checked.left : []
}

const decoded = (method: string, params: Parameters<typeof Protocol.checkParams>[1]) => {
  const checked = Protocol.checkParams(catalog.lookup(method)!, params)
  if (Either.isLeft(checked)) return assert.fail(Protocol.renderIssues(checked.left))
  return checked.right
}

describe("Protocol.protocolOf", () => {
  it("derives the protocol id from the method's prefix", () => {
    assert.strictEqual(Protocol.protocolOf("llm/chat"), "llm/v1")
    assert.strictEqual(Protocol.protocolOf("mcp/tool.add"), "mcp/v1")
    assert.strictEqual(Protocol.protocolOf("python/execute"), "python/v1")
    assert.strictEqual(Protocol.protocolOf("standalone"), "standalone/v1")
  })
})

describe("Protocol.catalog", () => {
  it("lists the methods of every protocol given", () => {
    assert.deepStrictEqual(catalog.methods.map((m) => m.name), [
      "http/request",
      "mcp/tool.echo",
      "mcp/tool.add",
      "mcp/tool.multiply",
      "mcp/tool.concat"
    ])
    assert.strictEqual(catalog.lookup("mcp/tool.add")?.protocol, "mcp/v1")
    assert.isUndefined(catalog.lookup("mcp/tool.sum"))
  })

  it("looks methods up by alias without listing aliases as methods", () => {
    const spec = Protocol.method({
      name: "llm/complete",
      protocol: "llm/v1",
      aliases: ["llm/generate"],
      description: "Complete a prompt",
      params: Schema.Struct({ prompt: Schema.String })
    })
    const withAlias = Protocol.catalog([Protocol.make("llm/v1", [spec])])
    assert.strictEqual(withAlias.lookup("llm/generate"), spec)
    assert.strictEqual(withAlias.lookup("llm/complete"), spec)
    assert.deepStrictEqual(withAlias.methods, [spec])
  })

  it("lets later protocols win on name clashes", () => {
    const replacement = Protocol.method({
      name: "mcp/tool.echo",
      protocol: "mcp/v1",
      description: "A louder echo",
      params: Schema.Struct({ message: Schema.String, volume: Schema.Number })
    })
    const merged = Protocol.catalog([DemoToolsProtocol.spec, Protocol.make("mcp/v1", [replacement])])
    assert.strictEqual(merged.lookup("mcp/tool.echo"), replacement)
    assert.strictEqual(merged.methods.filter((m) => m.name === "mcp/tool.echo").length, 1)
  })
})

describe("Protocol.checkParams", () => {
  it("reports every issue with its path", () => {
    const issues = issuesOf("mcp/tool.add", { a: "one", b: null })
    assert.deepStrictEqual(issues.map((i) => i.path), [["a"], ["b"]])
    assert.strictEqual(
      Protocol.renderIssues(issues),
      "a: Expected number, actual \"one\"; b: Expected number, actual null"
    )
  })

  it("merges the failures of a union's members at one path into one issue", () => {
    assert.deepStrictEqual(issuesOf("mcp/tool.concat", { strings: ["a", { b: 1 }, true] }), [
      { path: ["strings", 1], message: "Expected string | number, actual {\"b\":1}" },
      { path: ["strings", 2], message: "Expected string | number, actual true" }
    ])
  })

  it("ignores keys the schema does not know", () => {
    assert.deepStrictEqual(issuesOf("mcp/tool.echo", { message: "hi", extra: true }), [])
  })

  it("reports missing keys", () => {
    const issues = issuesOf("mcp/tool.echo", {})
    assert.deepStrictEqual(issues.map((i) => i.path), [["message"]])
    assert.include(issues[0]!.message, "is missing")
  })

  it("renders an issue without a path as its message alone", () => {
    assert.strictEqual(Protocol.renderIssues([{ path: [], message: "bad" }]), "bad")
  })
})

describe("HttpProtocol.RequestParams", () => {
  it("defaults the verb to GET and headers to empty", () => {
    assert.deepStrictEqual(decoded("http/request", { url: "https://example.com/a?b=1" }), {
      method: "GET",
      url: "https://example.com/a?b=1",
      headers: {}
    })
  })

  it("accepts verbs in any case", () => {
    assert.deepStrictEqual(decoded("http/request", { url: "http://x.test", method: "patch" }), {
      method: "PATCH",
      url: "http://x.test",
      headers: {}
    })
  })

  it("reports a bad verb once, listing the allowed verbs", () => {
    const issues = issuesOf("http/request", { url: "http://x.test", method: "fetch" })
    assert.deepStrictEqual(issues, [{
      path: ["method"],
      message: `Expected "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS", actual "FETCH"`
    }])
  })

  it("requires an absolute http(s) url", () => {
    for (const url of ["/relative", "ftp://example.com", "not a url", "file:///etc/passwd"]) {
      const issues = issuesOf("http/request", { url })
      assert.deepStrictEqual(issues.map((i) => i.message), ["must be an absolute http(s) URL"], url)
    }
  })

  it("rejects body and json together", () => {
    const issues = issuesOf("http/request", { url: "https://x.test", body: "a", json: { a: 1 } })
    assert.deepStrictEqual(issues.map((i) => i.message), ["give either 'body' or 'json', not both"])
  })

  it("requires a positive timeout, reported once without mentioning undefined", () => {
    assert.deepStrictEqual(issuesOf("http/request", { url: "https://x.test", timeout: 0 }), [{
      path: ["timeout"],
      message: "Expected a positive number, actual 0"
    }])
    assert.deepStrictEqual(issuesOf("http/request", { url: "https://x.test", timeout: 2.5 }), [])
  })

  it("declares the result shape", () => {
    const result = Schema.decodeUnknownEither(HttpProtocol.RequestResult)
    assert.isTrue(Either.isRight(result({ status: 200, headers: { "content-type": "application/json" }, body: [1] })))
    assert.isTrue(Either.isLeft(result({ status: "200", headers: {}, body: null })))
  })
})

describe("DemoToolsProtocol", () => {
  it("defaults the concat separator to the empty string and accepts numbers", () => {
    assert.deepStrictEqual(decoded("mcp/tool.concat", { strings: ["a", 1, "b"] }), {
      strings: ["a", 1, "b"],
      separator: ""
    })
  })

  it("marks every demo tool idempotent under mcp/v1", () => {
    for (const m of DemoToolsProtocol.spec.methods) {
      assert.isTrue(m.idempotent, m.name)
      assert.strictEqual(m.protocol, "mcp/v1")
    }
  })
})
