/**
 * `${secrets.NAME}` through the embedded engine: the provider receives the value, while the journal (events, the
 * workflow spec, results, errors) and the streamed output only ever hold the reference or `***`.
 */
import { assert, describe, it } from "@effect/vitest"
import { type Json, ProviderError } from "@gleitzeit/core"
import { FnProvider } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import { makeRuntime, tasksById, workflow } from "./helpers.js"

const TOKEN = "tok-9f8e7d6c5b4a"
const received: Array<Json.Json> = []

const functions = [
  FnProvider.sync("echo", (p) => {
    received.push(p as Json.Json)
    return p as Json.Json
  }),
  FnProvider.make(
    "stream",
    (p: { readonly text: string }, ctx) => Effect.as(ctx.emit("stdout", `sending ${p.text}`), { sent: p.text })
  ),
  FnProvider.make("reject", (p: { readonly text: string }) =>
    Effect.fail(
      ProviderError.make({
        provider: "fn",
        method: "fn/reject",
        reason: { _tag: "HttpStatus", status: 401, body: { token: p.text } },
        message: `401 for Bearer ${p.text}`
      })
    )),
  FnProvider.sync("emit", () => "${secrets.TOKEN}")
]

const runtime = makeRuntime({ functions, secrets: { TOKEN } })

/** Everything the journal holds about a run, as one text. */
const journalText = (rt: Effect.Effect.Success<typeof runtime>, runId: string) =>
  Effect.gen(function*() {
    const events = yield* rt.journal.events(runId)
    const tasks = yield* rt.journal.tasks(runId)
    const spec = yield* rt.journal.workflow(runId)
    return JSON.stringify({ events, tasks, spec })
  })

describe("secrets in params", () => {
  it.scoped("reach the provider, and appear nowhere in the journal: results and output say ***", () =>
    Effect.gen(function*() {
      received.length = 0
      const rt = yield* runtime
      const wf = yield* workflow(rt, {
        name: "secrets",
        tasks: [
          { id: "call", method: "fn/echo", params: { headers: { authorization: "Bearer ${secrets.TOKEN}" } } },
          { id: "say", method: "fn/stream", params: { text: "${secrets.TOKEN}" } }
        ]
      })
      const outcome = yield* rt.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(received, [{ headers: { authorization: `Bearer ${TOKEN}` } }])
      const tasks = yield* tasksById(rt, outcome.runId)
      assert.deepStrictEqual(tasks.get("call")!.result, { headers: { authorization: "Bearer ***" } })
      assert.deepStrictEqual(tasks.get("say")!.result, { sent: "***" })
      const text = yield* journalText(rt, outcome.runId)
      assert.include(text, "sending ***")
      assert.include(text, "${secrets.TOKEN}")
      assert.notInclude(text, TOKEN)
    }))

  it.scoped("an error that quotes the secret is journaled with *** instead", () =>
    Effect.gen(function*() {
      const rt = yield* runtime
      const wf = yield* workflow(rt, {
        name: "secrets-error",
        tasks: [{ id: "auth", method: "fn/reject", params: { text: "${secrets.TOKEN}" }, retry: 1 }]
      })
      const outcome = yield* rt.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      const error = (yield* tasksById(rt, outcome.runId)).get("auth")!.error as {
        message: string
        reason: { body: unknown }
      }
      assert.strictEqual(error.message, "401 for Bearer ***")
      assert.deepStrictEqual(error.reason.body, { token: "***" })
      assert.notInclude(yield* journalText(rt, outcome.runId), TOKEN)
    }))

  it.scoped("an unknown secret fails the task before the provider is called, without retries", () =>
    Effect.gen(function*() {
      received.length = 0
      const rt = yield* runtime
      const wf = yield* workflow(rt, {
        name: "secrets-missing",
        tasks: [{ id: "call", method: "fn/echo", params: { key: "${secrets.NOPE}" } }]
      })
      const outcome = yield* rt.engine.execute(wf)
      assert.strictEqual(outcome.status, "failed")
      const task = (yield* tasksById(rt, outcome.runId)).get("call")!
      assert.strictEqual(task.attempts, 1)
      assert.strictEqual((task.error as { _tag: string })._tag, "UnresolvedReference")
      assert.include((task.error as { message: string }).message, "no secret 'NOPE' is configured")
      assert.deepStrictEqual(received, [])
    }))

  it.scoped("a task result that reads '${secrets.NAME}' is passed on as text, never resolved", () =>
    Effect.gen(function*() {
      received.length = 0
      const rt = yield* runtime
      const wf = yield* workflow(rt, {
        name: "secrets-injection",
        tasks: [
          { id: "evil", method: "fn/emit" },
          { id: "next", method: "fn/echo", params: { whole: "${evil}", inside: "q=${evil}" } }
        ]
      })
      const outcome = yield* rt.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(received, [{ whole: "${secrets.TOKEN}", inside: "q=${secrets.TOKEN}" }])
    }))
})
