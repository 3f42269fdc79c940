import { assert, describe, it } from "@effect/vitest"
import type { Json as JsonValue } from "@gleitzeit/core"
import { Template } from "@gleitzeit/core"
import * as Either from "effect/Either"

type Json = JsonValue.Json

const results: Record<string, Json> = {
  summarize: { response: "a summary", model: "llama3", tokens: 42 },
  add: { result: 5, response: "5" },
  nested: { result: { value: "inner" } },
  items: {
    items: [{ name: "first", tags: ["x", "y"] }, { name: "second", tags: [] }, { name: "last", tags: ["z"] }],
    matrix: [[1, 2], [3, 4]],
    "dotted.key": "dotted value",
    empty: null,
    flag: false,
    zero: 0
  },
  list: [10, 20, 30],
  text: "plain text result"
}

const lookup = (task: string): Json | undefined => results[task]

const resolved = (value: Json): Json => {
  const out = Template.resolve(value, lookup)
  if (Either.isLeft(out)) assert.fail(`expected a resolved value, got ${out.left.message}`)
  return out.right
}

const failure = (value: Json): Template.TemplateError => {
  const out = Template.resolve(value, lookup)
  if (Either.isRight(out)) assert.fail(`expected a failure, got ${JSON.stringify(out.right)}`)
  return out.left
}

const parsed = (input: string): ReadonlyArray<Template.Part> => {
  const out = Template.parse(input)
  if (!Array.isArray(out)) assert.fail(`expected parts, got ${(out as Template.TemplateError).message}`)
  return out as ReadonlyArray<Template.Part>
}

const parseError = (input: string): Template.TemplateError => {
  const out = Template.parse(input)
  if (Array.isArray(out)) assert.fail(`expected a parse error for ${input}`)
  return out as Template.TemplateError
}

describe("Template.parse", () => {
  it("keeps a string without references as one literal part", () => {
    assert.deepStrictEqual(parsed("no references here"), ["no references here"])
  })

  it("splits literal text and references in order", () => {
    assert.deepStrictEqual(parsed("Summary: ${summarize.response} (${summarize.tokens} tokens)"), [
      "Summary: ",
      { text: "${summarize.response}", task: "summarize", path: ["response"] },
      " (",
      { text: "${summarize.tokens}", task: "summarize", path: ["tokens"] },
      " tokens)"
    ])
  })

  it("parses a bare task reference with an empty path", () => {
    assert.deepStrictEqual(parsed("${summarize}"), [{ text: "${summarize}", task: "summarize", path: [] }])
  })

  it("parses indexes, negative indexes and nested indexes as numbers", () => {
    assert.deepStrictEqual(parsed("${t.items[0].name}"), [
      { text: "${t.items[0].name}", task: "t", path: ["items", 0, "name"] }
    ])
    assert.deepStrictEqual(parsed("${t.items[-1]}"), [{ text: "${t.items[-1]}", task: "t", path: ["items", -1] }])
    assert.deepStrictEqual(parsed("${t.m[1][0]}"), [{ text: "${t.m[1][0]}", task: "t", path: ["m", 1, 0] }])
    assert.deepStrictEqual(parsed("${t[2]}"), [{ text: "${t[2]}", task: "t", path: [2] }])
  })

  it("parses quoted keys so keys may contain dots", () => {
    assert.deepStrictEqual(parsed("${t[\"a.b\"].c}"), [{ text: "${t[\"a.b\"].c}", task: "t", path: ["a.b", "c"] }])
    assert.deepStrictEqual(parsed("${t['x y']}"), [{ text: "${t['x y']}", task: "t", path: ["x y"] }])
  })

  it("turns $${ into a literal ${ that is not a reference", () => {
    assert.deepStrictEqual(parsed("cost: $${price} and ${t.x}"), [
      "cost: ${price} and ",
      { text: "${t.x}", task: "t", path: ["x"] }
    ])
    assert.isFalse(Template.hasReference("only $${escaped.text}"))
  })

  it("rejects an unterminated reference naming the fragment", () => {
    const error = parseError("Hello ${summarize.response")
    assert.strictEqual(error.reference, "${summarize.response")
    assert.include(error.message, "unterminated")
  })

  it("rejects an empty path segment", () => {
    assert.include(parseError("${t..response}").message, "empty path segment")
    assert.include(parseError("${t.}").message, "empty path segment")
    assert.strictEqual(parseError("x ${t..response} y").reference, "${t..response}")
  })

  it("rejects a reference that names no task", () => {
    assert.include(parseError("${}").message, "names no task")
    assert.include(parseError("${.response}").message, "names no task")
  })

  it("rejects an unclosed bracket and a bracket that is neither an index nor a quoted key", () => {
    assert.include(parseError("${t.items[0}").message, "unclosed '['")
    assert.include(parseError("${t.items[first]}").message, "neither an index nor a quoted key")
  })

  it("reports malformed references through hasReference so validation sees them", () => {
    assert.isTrue(Template.hasReference("${t.x"))
    assert.isTrue(Template.hasReference("a ${t.x} b"))
    assert.isFalse(Template.hasReference("a $ { b } c"))
  })
})

describe("Template.references", () => {
  it("finds references recursively through maps and lists", () => {
    const { errors, refs } = Template.references({
      prompt: "Summarize ${fetch.body}",
      messages: [{ role: "user", content: "${summarize.response}" }],
      count: 3,
      nested: { deep: ["${a.b}", "literal"] }
    })
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(refs.map((r) => r.text), ["${fetch.body}", "${summarize.response}", "${a.b}"])
  })

  it("collects malformed references as errors next to the good ones", () => {
    const { errors, refs } = Template.references({ good: "${a.b}", bad: "${a..b}", worse: ["${c"] })
    assert.deepStrictEqual(refs.map((r) => r.task), ["a"])
    assert.deepStrictEqual(errors.map((e) => e.reference), ["${a..b}", "${c"])
  })
})

describe("Template.resolve", () => {
  it("makes a leading result segment optional when the result has no result key", () => {
    assert.strictEqual(resolved("${summarize.result.response}"), "a summary")
    assert.strictEqual(resolved("${summarize.response}"), "a summary")
  })

  it("gives the value of the result key when the result has one", () => {
    assert.strictEqual(resolved("${add.result}"), 5)
    assert.strictEqual(resolved("${add.response}"), "5")
    assert.deepStrictEqual(resolved("${nested.result}"), { value: "inner" })
    assert.strictEqual(resolved("${nested.result.value}"), "inner")
  })

  it("gives the whole result for a bare task or a lone result segment without a result key", () => {
    assert.deepStrictEqual(resolved("${summarize}"), results["summarize"]!)
    assert.deepStrictEqual(resolved("${summarize.result}"), results["summarize"]!)
    assert.strictEqual(resolved("${text}"), "plain text result")
  })

  it("indexes lists, including nested paths after an index", () => {
    assert.strictEqual(resolved("${items.items[0].name}"), "first")
    assert.strictEqual(resolved("${items.items[2].tags[0]}"), "z")
    assert.strictEqual(resolved("${items.matrix[1][0]}"), 3)
    assert.strictEqual(resolved("${list[1]}"), 20)
    assert.strictEqual(resolved("${list.result[2]}"), 30)
  })

  it("counts negative indexes from the end of the list", () => {
    assert.strictEqual(resolved("${items.items[-1].name}"), "last")
    assert.strictEqual(resolved("${list[-3]}"), 10)
  })

  it("accepts a numeric dotted segment as a list index", () => {
    assert.strictEqual(resolved("${items.items.1.name}"), "second")
  })

  it("addresses keys containing dots with a quoted key", () => {
    assert.strictEqual(resolved("${items[\"dotted.key\"]}"), "dotted value")
  })

  it("keeps the type of a value when the string is exactly one reference", () => {
    assert.strictEqual(resolved("${summarize.tokens}"), 42)
    assert.deepStrictEqual(resolved("${items.items[0].tags}"), ["x", "y"])
    assert.deepStrictEqual(resolved("${items.items[0]}"), { name: "first", tags: ["x", "y"] })
    assert.strictEqual(resolved("${items.flag}"), false)
    assert.strictEqual(resolved("${items.zero}"), 0)
  })

  it("substitutes null for a whole-value reference to a null field instead of keeping the literal", () => {
    assert.strictEqual(resolved("${items.empty}"), null)
    assert.deepStrictEqual(resolved({ value: "${items.empty}" }), { value: null })
  })

  it("interpolates into text, rendering numbers, booleans, null, lists and maps as JSON", () => {
    assert.strictEqual(resolved("Tokens: ${summarize.tokens}!"), "Tokens: 42!")
    assert.strictEqual(resolved("flag=${items.flag} empty=${items.empty}"), "flag=false empty=null")
    assert.strictEqual(resolved("tags: ${items.items[0].tags}"), "tags: [\"x\",\"y\"]")
    assert.strictEqual(resolved("item: ${items.items[1]}"), "item: {\"name\":\"second\",\"tags\":[]}")
    assert.strictEqual(resolved("${summarize.model}/${add.result}"), "llama3/5")
  })

  it("interpolates strings without quotes", () => {
    assert.strictEqual(resolved("\"${summarize.response}\""), "\"a summary\"")
  })

  it("substitutes recursively through maps and lists, keeping other values", () => {
    assert.deepStrictEqual(
      resolved({
        model: "llama3",
        temperature: 0.2,
        messages: [{ role: "user", content: "Improve: ${summarize.response}" }],
        numbers: ["${add.result}", 7, null, true],
        nested: { list: "${list}" }
      }),
      {
        model: "llama3",
        temperature: 0.2,
        messages: [{ role: "user", content: "Improve: a summary" }],
        numbers: [5, 7, null, true],
        nested: { list: [10, 20, 30] }
      }
    )
  })

  it("returns the very same value when nothing needs substituting", () => {
    const value: Json = { a: [1, "two", { three: 3 }], b: "plain" }
    assert.strictEqual(resolved(value), value)
  })

  it("turns $${ into a literal ${ without looking anything up", () => {
    let looked = 0
    const out = Template.resolve({ shell: "echo $${HOME}", mixed: "$${x} and ${add.result}" }, (task) => {
      looked++
      return lookup(task)
    })
    assert.deepStrictEqual(out, Either.right({ shell: "echo ${HOME}", mixed: "${x} and 5" }))
    assert.strictEqual(looked, 1)
  })

  it("fails naming the reference when a field is missing", () => {
    const error = failure({ prompt: "Use ${summarize.missing} here" })
    assert.strictEqual(error.reference, "${summarize.missing}")
    assert.include(error.message, "${summarize.missing}")
    assert.include(error.message, "has no field 'missing'")
    assert.include(error.message, "response")
  })

  it("fails naming the reference when a whole-value reference has a missing field", () => {
    const error = failure({ count: "${summarize.result.count}" })
    assert.strictEqual(error.reference, "${summarize.result.count}")
    assert.include(error.message, "has no field 'count'")
  })

  it("fails when the path walks into a scalar", () => {
    const error = failure("${summarize.tokens.value}")
    assert.strictEqual(error.reference, "${summarize.tokens.value}")
    assert.include(error.message, "it is a number")
  })

  it("fails naming the reference when an index is out of range either way", () => {
    const high = failure("${items.items[3].name}")
    assert.strictEqual(high.reference, "${items.items[3].name}")
    assert.include(high.message, "index 3 is out of range")
    assert.include(high.message, "a list of 3")
    assert.include(failure("${list[-4]}").message, "index -4 is out of range")
  })

  it("fails when a list is addressed with a key", () => {
    const error = failure("${list.first}")
    assert.strictEqual(error.reference, "${list.first}")
    assert.include(error.message, "out of range")
  })

  it("fails naming the reference when the task has no result", () => {
    const error = failure({ a: "fine", b: ["${unknown.response}"] })
    assert.strictEqual(error.reference, "${unknown.response}")
    assert.include(error.message, "task 'unknown' has no result")
  })

  it("fails on a malformed reference at run time too", () => {
    assert.strictEqual(failure("${add.result").reference, "${add.result")
    assert.include(failure({ x: "${add..result}" }).message, "empty path segment")
  })

  it("reports the first failure of a value with several broken references", () => {
    const error = failure({ first: "${nope.a}", second: "${summarize.missing}" })
    assert.strictEqual(error.reference, "${nope.a}")
  })
})

describe("Template.walk", () => {
  it("walks a reference inside a given result", () => {
    const ref = parsed("${t.a[1].b}")[0] as Template.Reference
    assert.deepStrictEqual(Template.walk({ a: [{ b: 1 }, { b: 2 }] }, ref), Either.right(2))
  })

  it("names the position where the walk stopped", () => {
    const ref = parsed("${t.a[0].c}")[0] as Template.Reference
    const out = Template.walk({ a: [{ b: 1 }] }, ref)
    assert.isTrue(Either.isLeft(out))
    if (Either.isLeft(out)) assert.include(out.left.message, "'t.a[0]' has no field 'c' (it has: b)")
  })
})
