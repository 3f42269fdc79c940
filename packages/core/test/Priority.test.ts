import { assert, describe, it } from "@effect/vitest"
import { Priority } from "@gleitzeit/core"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

describe("Priority", () => {
  it("ranks urgent above high above normal above low", () => {
    const { high, low, normal, urgent } = Priority.ranks
    assert.isAbove(urgent, high)
    assert.isAbove(high, normal)
    assert.isAbove(normal, low)
    assert.strictEqual(Priority.normal, normal)
  })

  it("maps the predecessor's numbers 1 → high, 2 → normal, 3 → low", () => {
    assert.strictEqual(Priority.rankOfNumber(1), Priority.ranks.high)
    assert.strictEqual(Priority.rankOfNumber(2), Priority.ranks.normal)
    assert.strictEqual(Priority.rankOfNumber(3), Priority.ranks.low)
  })

  it("maps numbers above 3 to low and 0 or below to urgent", () => {
    assert.strictEqual(Priority.rankOfNumber(10), Priority.ranks.low)
    assert.strictEqual(Priority.rankOfNumber(0), Priority.ranks.urgent)
    assert.strictEqual(Priority.rankOfNumber(-5), Priority.ranks.urgent)
  })

  it("maps fractional numbers to the next lower priority band", () => {
    assert.strictEqual(Priority.rankOfNumber(0.5), Priority.ranks.high)
    assert.strictEqual(Priority.rankOfNumber(1.5), Priority.ranks.normal)
    assert.strictEqual(Priority.rankOfNumber(2.5), Priority.ranks.low)
  })

  it("names every rank and round-trips names", () => {
    for (const name of Priority.Name.literals) assert.strictEqual(Priority.nameOf(Priority.ranks[name]), name)
    assert.strictEqual(Priority.nameOf(99), "urgent")
    assert.strictEqual(Priority.nameOf(-1), "low")
  })

  it("ranks a written priority, name or number", () => {
    assert.strictEqual(Priority.rankOf("urgent"), Priority.ranks.urgent)
    assert.strictEqual(Priority.rankOf("low"), Priority.ranks.low)
    assert.strictEqual(Priority.rankOf(1), Priority.ranks.high)
    assert.strictEqual(Priority.rankOf(3), Priority.ranks.low)
  })

  it("accepts names and numbers as input and rejects other words", () => {
    const decode = Schema.decodeUnknownEither(Priority.Input)
    assert.deepStrictEqual(decode("high"), Either.right("high"))
    assert.deepStrictEqual(decode(2), Either.right(2))
    assert.isTrue(Either.isLeft(decode("critical")))
    assert.isTrue(Either.isLeft(decode("toString")))
  })
})
