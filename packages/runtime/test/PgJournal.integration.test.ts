/**
 * The journal on a real PostgreSQL (127.0.0.1:5432 by default, `GLEITZEIT_TEST_PG_URL` to override): the same
 * engine, the same semantics as on SQLite. Each run of this file uses its own database and drops it afterwards.
 */
import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { SqlJournal } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import {
  assertStatuses,
  isEvent,
  makeProbe,
  makeRuntime,
  nextEvent,
  type Probe,
  type Runtime,
  tasksById,
  workflow
} from "./helpers.js"

const adminUrl = process.env["GLEITZEIT_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"
const database = `gleitzeit_test_${process.pid}_${Math.floor(performance.now())}`
const url = (() => {
  const u = new URL(adminUrl)
  u.pathname = `/${database}`
  return u.toString()
})()

const admin = <A>(statement: string) =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A & object>(statement)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl) })),
      Effect.scoped
    )
  )

beforeAll(async () => {
  try {
    await admin(`CREATE DATABASE ${database}`)
  } catch (cause) {
    throw new Error(
      `PostgreSQL at ${adminUrl} is not reachable (start it: see reference/test-infrastructure.md): ${String(cause)}`
    )
  }
})
afterAll(() => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`))

const pgRuntime = (probe: Probe) => makeRuntime({ journal: SqlJournal.layerPg({ url }), functions: probe.functions })

describe("Journal on PostgreSQL", () => {
  it.scoped("runs a diamond to completion, with every transition in the shared tables", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      const runtime = yield* pgRuntime(probe)
      const wf = yield* workflow(runtime, {
        name: "pg-diamond",
        tasks: [
          { id: "a", method: "fn/work", params: { key: "a", value: 2 } },
          { id: "b", method: "fn/echo", params: { n: "${a}" } },
          { id: "c", method: "fn/echo", params: { n: "${a}", text: "a is ${a}" } },
          { id: "d", method: "fn/echo", params: { b: "${b.n}", c: "${c.text}" } }
        ],
        outputs: { d: "${d}" }
      })
      const outcome = yield* runtime.engine.execute(wf)
      assert.strictEqual(outcome.status, "completed")
      assert.deepStrictEqual(outcome.outputs, { d: { b: 2, c: "a is 2" } })
      const run = Option.getOrThrow(yield* runtime.journal.run(outcome.runId))
      assert.strictEqual(run.status, "completed")
      assert.deepStrictEqual(run.outputs, outcome.outputs)
      yield* assertStatuses(runtime, outcome.runId, { a: "completed", b: "completed", c: "completed", d: "completed" })
      assert.deepStrictEqual((yield* tasksById(runtime, outcome.runId)).get("c")!.result, { n: 2, text: "a is 2" })
      const attempts = yield* runtime.journal.attempts(outcome.runId)
      assert.deepStrictEqual(attempts.map((a) => [a.taskId, a.attempt, a.status]), [
        ["a", 1, "completed"],
        ["b", 1, "completed"],
        ["c", 1, "completed"],
        ["d", 1, "completed"]
      ])
      const events = yield* runtime.journal.events(outcome.runId)
      assert.deepStrictEqual(events.map((e) => e.seq), events.map((_, i) => i + 1))
      assert.strictEqual(events[0]!._tag, "RunSubmitted")
      assert.isFalse("workflow" in events[0]!, "the stored RunSubmitted event does not repeat the workflow")
      assert.strictEqual(events[events.length - 1]!._tag, "RunCompleted")
      assert.deepStrictEqual(Option.getOrThrow(yield* runtime.journal.workflow(outcome.runId)).tasks.map((t) => t.id), [
        "a",
        "b",
        "c",
        "d"
      ])
    }))

  it.scoped("a run whose process died resumes from PostgreSQL without re-running completed tasks", () =>
    Effect.gen(function*() {
      const probe = yield* makeProbe
      const doc = {
        name: "pg-crash",
        tasks: [
          { id: "a", method: "fn/work", params: { key: "a", value: 1 } },
          { id: "b", method: "fn/work", params: { key: "b", wait: "b", value: "${a}" } }
        ]
      }
      const scope = yield* Scope.make()
      const first: Runtime = yield* Scope.extend(pgRuntime(probe), scope)
      const runId = yield* Effect.scoped(Effect.gen(function*() {
        const events = yield* first.bus.subscribe
        const runId = yield* first.engine.submit(yield* workflow(first, doc))
        yield* nextEvent(events, isEvent("TaskStarted", "b"))
        yield* probe.started("b")
        return runId
      }))
      yield* Scope.close(scope, Exit.void)

      const second = yield* pgRuntime(probe)
      yield* assertStatuses(second, runId, { a: "completed", b: "running" })
      yield* probe.open("b")
      yield* second.engine.resume(runId)
      const outcome = yield* second.engine.wait(runId)
      assert.strictEqual(outcome.status, "completed")
      assert.strictEqual(probe.count("a"), 1)
      assert.strictEqual(probe.count("b"), 2)
    }))

  it.scoped("nodes starting at once on an empty database migrate it once, without racing", () =>
    Effect.gen(function*() {
      const fresh = `${database}_m`
      yield* Effect.promise(() => admin(`CREATE DATABASE ${fresh}`))
      yield* Effect.addFinalizer(() => Effect.promise(() => admin(`DROP DATABASE IF EXISTS ${fresh} WITH (FORCE)`)))
      const freshUrl = url.replace(`/${database}`, `/${fresh}`)
      const node = Layer.build(SqlJournal.layerPgClient({ url: freshUrl }))
      yield* Effect.all([node, node, node], { concurrency: "unbounded" })
      const rows = yield* Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql`SELECT migration_id FROM gleitzeit_migrations ORDER BY migration_id`
      ).pipe(
        Effect.provide(PgClient.layer({ url: Redacted.make(freshUrl) }))
      )
      // Every migration applied exactly once.
      assert.deepStrictEqual(rows.map((r) => Number(r.migration_id)), [1, 2, 3])
    }))
})
