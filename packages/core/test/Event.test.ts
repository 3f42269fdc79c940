import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, Event, Run } from "@gleitzeit/core"

const common = { runId: "r1", seq: 3, at: 1_700_000_000_000 }

describe("Event", () => {
  it("decodes journaled events by tag", () => {
    const event = Event.decode({
      _tag: "TaskCompleted",
      ...common,
      taskId: "t",
      attempt: 1,
      result: { a: [1] },
      durationMs: 12
    })
    assert.strictEqual(event._tag, "TaskCompleted")
    assert.deepStrictEqual(event, {
      _tag: "TaskCompleted",
      ...common,
      taskId: "t",
      attempt: 1,
      result: { a: [1] },
      durationMs: 12
    })
    assert.throws(() => Event.decode({ _tag: "TaskExploded", ...common }))
    assert.throws(() => Event.decode({ _tag: "TaskOutput", ...common, taskId: "t", attempt: 1, stream: "x", text: "" }))
  })

  it("marks exactly the run-ending events final", () => {
    const final = [
      { _tag: "RunCompleted", ...common, outputs: {} },
      { _tag: "RunFailed", ...common, error: { code: ErrorCode.WorkflowExecution, message: "m", taskId: "t" } },
      { _tag: "RunCancelled", ...common, reason: "user" },
      { _tag: "RunTimedOut", ...common, timeoutMs: 1000 }
    ]
    const notFinal = [
      { _tag: "RunSubmitted", ...common, workflowId: "w", name: "n", taskCount: 2 },
      { _tag: "RunStarted", ...common, resumed: false },
      { _tag: "TaskStarted", ...common, taskId: "t", attempt: 1 },
      { _tag: "TaskAttemptFailed", ...common, taskId: "t", attempt: 1, error: {}, retryInMs: 1000 },
      { _tag: "TaskFailed", ...common, taskId: "t", attempt: 3, error: {} },
      { _tag: "TaskSkipped", ...common, taskId: "t", reason: "dependency failed" },
      { _tag: "TaskCancelled", ...common, taskId: "t" },
      { _tag: "TaskOutput", ...common, taskId: "t", attempt: 1, stream: "token", text: "Hel" }
    ]
    for (const e of final) assert.isTrue(Event.isFinal(Event.decode(e)), e._tag)
    for (const e of notFinal) assert.isFalse(Event.isFinal(Event.decode(e)), e._tag)
  })
})

describe("Run", () => {
  it("knows which run statuses are final", () => {
    assert.deepStrictEqual(Run.RunStatus.literals.filter(Run.isFinalRun), [
      "completed",
      "failed",
      "cancelled",
      "timed_out"
    ])
  })

  it("knows which task statuses are final", () => {
    assert.deepStrictEqual(Run.TaskStatus.literals.filter(Run.isFinalTask), [
      "completed",
      "failed",
      "skipped",
      "cancelled"
    ])
  })
})

describe("ErrorCode", () => {
  it("keeps the JSON-RPC codes and ranges stable", () => {
    assert.deepStrictEqual(
      [ErrorCode.ParseError, ErrorCode.InvalidRequest, ErrorCode.MethodNotFound, ErrorCode.InvalidParams],
      [-32700, -32600, -32601, -32602]
    )
    assert.strictEqual(ErrorCode.Internal, -32603)
    const ranges: Array<[number, ReadonlyArray<number>]> = [
      [-31000, [ErrorCode.NotInitialized, ErrorCode.RateLimited, ErrorCode.ResourceExhausted, ErrorCode.Configuration]],
      [-30000, [ErrorCode.ProviderNotFound, ErrorCode.ProviderTimeout, ErrorCode.MethodNotSupported]],
      [-29000, [ErrorCode.TaskValidation, ErrorCode.ParameterError, ErrorCode.TaskNotFound, ErrorCode.TaskTimeout]],
      [-28000, [ErrorCode.WorkflowValidation, ErrorCode.CircularDependency, ErrorCode.InvalidState]],
      [-26000, [ErrorCode.Persistence]]
    ]
    for (const [range, codes] of ranges) {
      for (const code of codes) assert.isTrue(code <= range && code > range - 1000, `${code} in ${range}`)
    }
  })
})
