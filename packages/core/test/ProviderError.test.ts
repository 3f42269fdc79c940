import { assert, describe, it } from "@effect/vitest"
import { ErrorCode, ProviderError, TaskError } from "@gleitzeit/core"

const failure = (reason: ProviderError.Reason, retryable?: boolean): ProviderError.ProviderError =>
  ProviderError.make({
    provider: "http",
    method: "http/request",
    reason,
    message: `failed: ${reason._tag}`,
    ...(retryable === undefined ? {} : { retryable })
  })

const status = (code: number): ProviderError.Reason => ({ _tag: "HttpStatus", status: code })

/** Encodes, serializes, parses and decodes a failure the way the journal and the wire do. */
const roundTrip = (error: TaskError.TaskFailure): TaskError.TaskFailure =>
  TaskError.decode(JSON.parse(JSON.stringify(TaskError.encode(error))))

describe("ProviderError retryable verdicts", () => {
  it("retries HTTP 5xx statuses", () => {
    for (const code of [500, 502, 503, 504]) assert.isTrue(failure(status(code)).retryable, `status ${code}`)
  })

  it("does not retry HTTP 4xx statuses", () => {
    for (const code of [400, 401, 403, 404, 409, 422]) assert.isFalse(failure(status(code)).retryable, `status ${code}`)
  })

  it("retries HTTP 429 Too Many Requests and 408 Request Timeout", () => {
    assert.isTrue(failure(status(429)).retryable)
    assert.isTrue(failure(status(408)).retryable)
  })

  it("retries transient reasons and nothing else", () => {
    const verdicts: Array<[ProviderError.Reason, boolean]> = [
      [{ _tag: "Timeout" }, true],
      [{ _tag: "Unavailable" }, true],
      [{ _tag: "RateLimited", retryAfterMs: 2000 }, true],
      [{ _tag: "BadResponse" }, true],
      [{ _tag: "InvalidParams" }, false],
      [{ _tag: "NotFound" }, false],
      [{ _tag: "SandboxViolation" }, false],
      [{ _tag: "OutOfMemory" }, false],
      [{ _tag: "Cancelled" }, false],
      [{ _tag: "ExecutionFailed", exitCode: 1, traceback: "Traceback…" }, false],
      [{ _tag: "TooLarge", limitBytes: 1024 }, false],
      [{ _tag: "Internal" }, false]
    ]
    for (const [reason, expected] of verdicts) {
      assert.strictEqual(ProviderError.isRetryableReason(reason), expected, reason._tag)
      assert.strictEqual(failure(reason).retryable, expected, reason._tag)
    }
  })

  it("lets the retryable override win over the reason in both directions", () => {
    assert.isFalse(failure(status(503), false).retryable)
    assert.isTrue(failure({ _tag: "ExecutionFailed" }, true).retryable)
    assert.isTrue(failure(status(404), true).retryable)
  })

  it("leaves out the override and the cause when they are not given", () => {
    const error = failure(status(500))
    assert.isUndefined(error.retryableOverride)
    const keys = Object.keys(TaskError.encode(error)).sort()
    assert.deepStrictEqual(keys, ["_tag", "message", "method", "provider", "reason"])
  })
})

describe("ProviderError codes", () => {
  it("gives each reason its JSON-RPC code", () => {
    const codes: Array<[ProviderError.Reason, number]> = [
      [{ _tag: "Timeout" }, -30003],
      [{ _tag: "Unavailable" }, -30001],
      [{ _tag: "RateLimited" }, -31004],
      [{ _tag: "InvalidParams" }, -32602],
      [{ _tag: "NotFound" }, -30000],
      [{ _tag: "Cancelled" }, -29003],
      [{ _tag: "OutOfMemory" }, -31003],
      [{ _tag: "TooLarge", limitBytes: 1024 }, -31003],
      [{ _tag: "ExecutionFailed" }, -29001],
      [{ _tag: "SandboxViolation" }, -29001],
      [status(500), -30006],
      [{ _tag: "BadResponse" }, -30006],
      [{ _tag: "Internal" }, -32603]
    ]
    for (const [reason, code] of codes) {
      assert.strictEqual(ProviderError.codeOfReason(reason), code, reason._tag)
      assert.strictEqual(failure(reason).code, code, reason._tag)
    }
  })
})

describe("TaskError codes and verdicts", () => {
  it("gives each engine failure its code and retryable verdict", () => {
    const unresolved = new TaskError.UnresolvedReference({ taskId: "t", reference: "${a.b}", message: "m" })
    const tooLarge = new TaskError.PayloadTooLarge({ taskId: "t", bytes: 2, limit: 1, message: "m" })
    const cases: Array<[TaskError.TaskFailure, number, boolean]> = [
      [unresolved, ErrorCode.ParameterError, false],
      [new TaskError.InvalidParams({ method: "mcp/tool.add", message: "m" }), ErrorCode.InvalidParams, false],
      [new TaskError.MethodNotFound({ method: "x/y", message: "m" }), ErrorCode.MethodNotFound, false],
      [new TaskError.TaskTimeout({ taskId: "t", timeoutMs: 5000, message: "m" }), ErrorCode.TaskTimeout, true],
      [new TaskError.TaskCancelled({ taskId: "t", message: "m" }), ErrorCode.TaskCancelled, false],
      [tooLarge, ErrorCode.ResourceExhausted, false],
      [new TaskError.TaskDefect({ taskId: "t", message: "m" }), ErrorCode.Internal, false]
    ]
    for (const [error, code, retryable] of cases) {
      assert.strictEqual(error.code, code, error._tag)
      assert.strictEqual(error.retryable, retryable, error._tag)
    }
  })
})

describe("TaskError.encode / decode", () => {
  it("round-trips a ProviderError through JSON with its tag, fields and verdict", () => {
    const original = ProviderError.make({
      provider: "ollama",
      method: "llm/chat",
      reason: { _tag: "HttpStatus", status: 503, body: { error: "model loading", retry: [1, 2] } },
      message: "Service Unavailable"
    })
    const decoded = roundTrip(original)
    assert.instanceOf(decoded, ProviderError.ProviderError)
    assert.strictEqual(decoded._tag, "ProviderError")
    assert.deepStrictEqual(decoded, original)
    assert.isTrue(decoded.retryable)
    assert.strictEqual(decoded.code, original.code)
    assert.strictEqual(decoded.message, "Service Unavailable")
  })

  it("keeps the retryable override across the round trip", () => {
    const decoded = roundTrip(failure(status(503), false))
    assert.instanceOf(decoded, ProviderError.ProviderError)
    if (decoded._tag === "ProviderError") assert.strictEqual(decoded.retryableOverride, false)
    assert.isFalse(decoded.retryable)
  })

  it("keeps every reason's fields across the round trip", () => {
    const reasons: Array<ProviderError.Reason> = [
      { _tag: "RateLimited", retryAfterMs: 1500 },
      { _tag: "TooLarge", limitBytes: 10_485_760 },
      { _tag: "ExecutionFailed", exitCode: 2, traceback: "Traceback (most recent call last): …" },
      status(429),
      { _tag: "Timeout" }
    ]
    for (const reason of reasons) {
      const original = failure(reason)
      const decoded = roundTrip(original)
      assert.deepStrictEqual(decoded, original, reason._tag)
      assert.strictEqual(decoded.retryable, original.retryable, reason._tag)
    }
  })

  it("keeps the cause's message across the round trip", () => {
    const original = ProviderError.make({
      provider: "python",
      method: "python/execute",
      reason: { _tag: "Internal" },
      message: "sandbox crashed",
      cause: new Error("container exited with 137")
    })
    const decoded = roundTrip(original)
    assert.strictEqual(decoded._tag, "ProviderError")
    if (decoded._tag === "ProviderError") {
      assert.instanceOf(decoded.cause, Error)
      assert.strictEqual((decoded.cause as Error).message, "container exited with 137")
    }
  })

  it("round-trips every engine failure unchanged", () => {
    const failures: Array<TaskError.TaskFailure> = [
      new TaskError.UnresolvedReference({ taskId: "b", reference: "${a.missing}", message: "no field" }),
      new TaskError.InvalidParams({ method: "mcp/tool.add", message: "a: Expected number" }),
      new TaskError.MethodNotFound({ method: "nope/x", message: "no provider" }),
      new TaskError.TaskTimeout({ taskId: "slow", timeoutMs: 30_000, message: "timed out" }),
      new TaskError.TaskCancelled({ taskId: "c", message: "run cancelled" }),
      new TaskError.PayloadTooLarge({ taskId: "big", bytes: 20_000_000, limit: 10_000_000, message: "too large" }),
      new TaskError.TaskDefect({ taskId: "d", message: "TypeError: x is undefined" })
    ]
    for (const original of failures) {
      const decoded = roundTrip(original)
      assert.strictEqual(decoded._tag, original._tag)
      assert.strictEqual(Object.getPrototypeOf(decoded), Object.getPrototypeOf(original), original._tag)
      assert.deepStrictEqual(decoded, original, original._tag)
      assert.strictEqual(decoded.retryable, original.retryable, original._tag)
      assert.strictEqual(decoded.code, original.code, original._tag)
    }
  })

  it("encodes to plain JSON carrying the tag", () => {
    const encoded = TaskError.encode(new TaskError.TaskTimeout({ taskId: "t", timeoutMs: 10, message: "m" }))
    assert.deepStrictEqual(JSON.parse(JSON.stringify(encoded)), {
      _tag: "TaskTimeout",
      taskId: "t",
      timeoutMs: 10,
      message: "m"
    })
  })

  it("rejects a journaled failure with an unknown tag", () => {
    assert.throws(() => TaskError.decode({ _tag: "Mystery", message: "?" }))
    assert.throws(() => TaskError.decode({ _tag: "TaskTimeout", taskId: "t", message: "no timeoutMs" }))
  })
})
