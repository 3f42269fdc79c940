import { assert, describe, it } from "@effect/vitest"
import { Progress } from "@gleitzeit/cli"
import type { Event } from "@gleitzeit/core"

const names = { idea: { name: "idea", method: "llm/chat" }, calc: { name: "calc", method: "python/execute" } }
const base = { runId: "r1", seq: 0 }
const started = (taskId: string, at: number): Event.Event => ({ ...base, _tag: "TaskStarted", taskId, attempt: 1, at })
const token = (taskId: string, text: string, at: number): Event.Event => ({
  ...base,
  _tag: "TaskOutput",
  taskId,
  attempt: 1,
  stream: "token",
  text,
  at
})
const completed = (taskId: string, at: number, result: unknown): Event.Event => ({
  ...base,
  _tag: "TaskCompleted",
  taskId,
  attempt: 1,
  result: result as never,
  durationMs: 1200,
  at
})

describe("Progress", () => {
  it("shows streamed tokens as lines of text with --verbose, never a line per token", () => {
    const progress = Progress.make({ names, interactive: false, verbose: true })
    assert.deepStrictEqual(progress.event(started("idea", 0)), ["  → idea llm/chat"])
    const lines = ["Hel", "lo", " world\nsecond", " line\nthi", "rd"].flatMap((text, i) =>
      progress.event(token("idea", text, 10 + i))
    )
    assert.deepStrictEqual(lines, ["    idea │ Hello world", "    idea │ second line"])
    const end = progress.event(completed("idea", 100, { response: "Hello world\nsecond line\nthird" }))
    assert.deepStrictEqual(end[0], "    idea │ third")
    assert.match(end[1]!, /^ {2}✓ idea 1\.2 s {2}Hello world second line third$/)
  })

  it("without --verbose, streamed text is kept for the live region only", () => {
    const progress = Progress.make({ names, interactive: true, verbose: false })
    assert.deepStrictEqual(progress.event(started("idea", 1_000)), [], "a running task lives in the region")
    for (let i = 0; i < 20; i++) assert.deepStrictEqual(progress.event(token("idea", `w${i} `, 1_500 + i * 100)), [])
    const [line] = progress.region(4_000, 120)
    assert.match(line!, /^ {2}\S idea llm\/chat {2}3\.0 s {2}20 tok {2}8\.0 tok\/s {2}│ w0 w1 .* w19$/)
    assert.isAtMost([...progress.region(4_000, 40)[0]!].length, 40, "a region line never wraps")
    progress.event(completed("idea", 4_100, { response: "…" }))
    assert.deepStrictEqual(progress.region(4_200, 120), [])
  })

  it("a failed Python task's traceback follows its failure line", () => {
    const progress = Progress.make({ names, interactive: false, verbose: false })
    progress.event(started("calc", 0))
    const lines = progress.event({
      ...base,
      _tag: "TaskFailed",
      taskId: "calc",
      attempt: 1,
      at: 10,
      error: {
        message: "ZeroDivisionError: division by zero",
        reason: {
          _tag: "ExecutionFailed",
          traceback: "Traceback (most recent call last):\n  File \"<code>\", line 2\n"
        }
      }
    })
    assert.deepStrictEqual(lines, [
      "  ✗ calc failed: ZeroDivisionError: division by zero",
      "      Traceback (most recent call last):",
      "        File \"<code>\", line 2"
    ])
  })

  it("says which tasks run long when there is no live region", () => {
    const progress = Progress.make({ names, interactive: false, verbose: false })
    progress.event(started("idea", 0))
    progress.event(token("idea", "x", 5))
    progress.event(started("calc", 50_000))
    assert.deepStrictEqual(progress.heartbeat(60_000, 30_000), ["  ⋯ idea running for 1 min 0 s, 1 token so far"])
  })

  it("notes that a result was cut short, so `gleitzeit result` can show it whole", () => {
    const progress = Progress.make({ names, interactive: false, verbose: false })
    progress.event(completed("calc", 10, { result: 1, stdout: "" }))
    assert.isFalse(progress.truncated())
    progress.event(completed("idea", 10, { response: "x".repeat(100) }))
    assert.isTrue(progress.truncated())
  })
})
