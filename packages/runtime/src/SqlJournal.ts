/**
 * The journal on SQL (SQLite embedded; PostgreSQL in a cluster). Appends are group-committed: a single writer
 * fiber takes everything pending, writes it as multi-row inserts (triggers update the projections), then
 * resolves the waiters and publishes the events. A lone write is flushed at once; under load batches grow.
 */
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { type Event, Run, Workflow } from "@gleitzeit/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs"
import { basename, dirname, resolve } from "node:path"
import { EventBus } from "./EventBus.js"
import * as pgSchema from "./internal/pgSchema.js"
import * as sqliteSchema from "./internal/sqliteSchema.js"
import { Journal } from "./Journal.js"

interface Pending {
  /** The events as JSON text, one per event, in order (a RunSubmitted row also carries workflow and owner). */
  readonly rows: ReadonlyArray<string>
  /** The events to publish once committed. */
  readonly events: ReadonlyArray<Event.Event>
  readonly onCommitted: (() => void) | undefined
  readonly onFailed: ((cause: Cause.Cause<unknown>) => void) | undefined
}

/** Batches larger than this (JSON bytes) are split over several statements in one transaction. */
const maxStatementBytes = 32 * 1024 * 1024

/** Reads a JSON column: SQLite returns its text, PostgreSQL (jsonb) the parsed value. */
type ReadJson = (column: unknown) => unknown

const readJsonText: ReadJson = (column) => typeof column === "string" ? JSON.parse(column) : undefined
const readJsonb: ReadJson = (column) => column ?? undefined

const optional = <K extends string, V>(key: K, value: V | null | undefined): { [P in K]?: V } =>
  (value === null || value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

const decodeRunError = Schema.decodeUnknownSync(Run.RunError)

const toRun = (parseJson: ReadJson) => (row: Record<string, unknown>): Run.RunRecord =>
  new Run.RunRecord({
    id: row.id as string,
    workflowId: row.workflow_id as string,
    name: row.name as string,
    status: row.status as Run.RunStatus,
    createdAt: Number(row.created_at),
    ...optional("startedAt", row.started_at === null ? null : Number(row.started_at)),
    ...optional("finishedAt", row.finished_at === null ? null : Number(row.finished_at)),
    ...optional("error", row.error === null ? null : decodeRunError(parseJson(row.error))),
    ...optional("outputs", parseJson(row.outputs) as Run.RunRecord["outputs"]),
    ...optional("node", row.node as string | null),
    taskCount: Number(row.task_count),
    ...optional("submittedBy", row.submitted_by as string | null | undefined)
  })

const toTask = (parseJson: ReadJson) => (row: Record<string, unknown>): Run.TaskRecord =>
  new Run.TaskRecord({
    runId: row.run_id as string,
    taskId: row.task_id as string,
    name: row.name as string,
    method: row.method as string,
    status: row.status as Run.TaskStatus,
    attempts: Number(row.attempts),
    ...optional("result", parseJson(row.result) as Run.TaskRecord["result"]),
    ...optional("error", parseJson(row.error) as Run.TaskRecord["error"]),
    ...optional("startedAt", row.started_at === null ? null : Number(row.started_at)),
    ...optional("finishedAt", row.finished_at === null ? null : Number(row.finished_at))
  })

const toAttempt = (parseJson: ReadJson) => (row: Record<string, unknown>): Run.AttemptRecord =>
  new Run.AttemptRecord({
    runId: row.run_id as string,
    taskId: row.task_id as string,
    attempt: Number(row.attempt),
    status: row.status as Run.AttemptRecord["status"],
    startedAt: Number(row.started_at),
    ...optional("finishedAt", row.finished_at === null ? null : Number(row.finished_at)),
    ...optional("error", parseJson(row.error) as Run.AttemptRecord["error"]),
    ...optional("provider", row.provider as string | null),
    ...optional("node", row.node as string | null),
    idempotencyKey: row.idempotency_key as string
  })

const runMigrations = Migrator.make({})({
  table: "gleitzeit_migrations",
  loader: Migrator.fromRecord({
    "0001_init": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const statements = sql.onDialectOrElse({ pg: () => pgSchema.init, orElse: () => sqliteSchema.init })
      for (const statement of statements) yield* sql.unsafe(statement)
    }),
    "0002_attempt_node": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const statements = sql.onDialectOrElse({
        pg: () => pgSchema.attemptNode,
        orElse: () => sqliteSchema.attemptNode
      })
      for (const statement of statements) yield* sql.unsafe(statement)
    }),
    "0003_run_owner": Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const statements = sql.onDialectOrElse({ pg: () => pgSchema.runOwner, orElse: () => sqliteSchema.runOwner })
      for (const statement of statements) yield* sql.unsafe(statement)
    })
  })
})

/**
 * Runs the journal's migrations on the current SqlClient. The migrator serializes concurrent runs with a table
 * lock; only the creation of its own table can race when nodes start at once on an empty database, and the loser
 * simply tries again (the table exists by then).
 */
export const migrate = Effect.retry(runMigrations, { times: 5 })

/** Builds the journal on the current SqlClient (migrations must have run). */
export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const bus = yield* EventBus
  const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending>(), Queue.shutdown)
  const appendBatch = sql.onDialectOrElse({ pg: () => pgSchema.appendBatch, orElse: () => sqliteSchema.appendBatch })
  const parseJson = sql.onDialectOrElse({ pg: () => readJsonb, orElse: () => readJsonText })
  const runOf = toRun(parseJson)
  // Everything of a run but its workflow, which only starting it needs.
  const runColumns = sql.literal(
    "id, workflow_id, name, status, created_at, started_at, finished_at, error, outputs, node, task_count"
  )
  // The same, and who submitted the run (recorded by its `RunSubmitted` event, sequence 1).
  const runViewColumns = sql.literal(
    "id, workflow_id, name, status, created_at, started_at, finished_at, error, outputs, node, task_count, " +
      sql.onDialectOrElse({
        pg: () => "(SELECT data ->> 'submittedBy' FROM events WHERE run_id = runs.id AND seq = 1)",
        orElse: () => "(SELECT data ->> '$.submittedBy' FROM events WHERE run_id = runs.id AND seq = 1)"
      }) + " AS submitted_by"
  )
  const taskOf = toTask(parseJson)
  const attemptOf = toAttempt(parseJson)

  const writeBatch = (batch: ReadonlyArray<Pending>) => {
    const statements: Array<string> = []
    let current: Array<string> = []
    let bytes = 0
    for (const pending of batch) {
      for (const row of pending.rows) {
        if (bytes + row.length > maxStatementBytes && current.length > 0) {
          statements.push(`[${current.join(",")}]`)
          current = []
          bytes = 0
        }
        current.push(row)
        bytes += row.length + 1
      }
    }
    if (current.length > 0) statements.push(`[${current.join(",")}]`)
    if (statements.length === 0) return Effect.void
    // One statement is atomic on its own; several are made atomic together.
    const write = Effect.forEach(statements, (json) => sql.unsafe(appendBatch, [json]), { discard: true })
    return statements.length === 1 ? write : sql.withTransaction(write)
  }

  const writer = Effect.gen(function*() {
    for (;;) {
      const first = yield* Queue.take(queue)
      // Let fibers that are already runnable (e.g. an attempt about to complete) add their writes to this batch:
      // one scheduler turn, no timer, so a lone write is still flushed at once.
      yield* Effect.yieldNow()
      const rest = yield* Queue.takeAll(queue)
      const batch = [first, ...rest]
      const exit = yield* Effect.exit(writeBatch(batch))
      if (exit._tag === "Failure") {
        yield* Effect.logError("journal write failed", exit.cause)
        for (const pending of batch) pending.onFailed?.(exit.cause)
        continue
      }
      for (const pending of batch) {
        yield* bus.publish(pending.events)
        pending.onCommitted?.()
      }
    }
  })
  yield* Effect.forkScoped(writer)

  const enqueue = (
    pending: Omit<Pending, "onCommitted" | "onFailed">,
    wait: boolean,
    onCommitted?: () => void
  ): Effect.Effect<void> =>
    wait
      ? Effect.async<void>((resume) => {
        queue.unsafeOffer({
          ...pending,
          onCommitted: () => resume(Effect.void),
          onFailed: (cause) => resume(Effect.die(Cause.squash(cause)))
        })
      })
      : Effect.sync(() => {
        queue.unsafeOffer({ ...pending, onCommitted, onFailed: undefined })
      })

  const rowsOf = (events: ReadonlyArray<Event.Event>): ReadonlyArray<string> => events.map((e) => JSON.stringify(e))

  return Journal.of({
    createRun: (run, submitted) =>
      Effect.suspend(() =>
        enqueue({
          // Every field of a Workflow is JSON-native, so its JSON text is its encoded form.
          rows: [JSON.stringify({ ...submitted, workflow: run.workflow, owner: run.owner })],
          events: [submitted]
        }, true)
      ),
    append: (events) => enqueue({ rows: rowsOf(events), events }, true),
    appendLater: (events, onCommitted) => enqueue({ rows: rowsOf(events), events }, false, onCommitted),
    flush: enqueue({ rows: [], events: [] }, true),
    run: (runId) =>
      Effect.orDie(sql`SELECT ${runViewColumns} FROM runs WHERE id = ${runId}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), runOf))
      ),
    load: (runId) =>
      Effect.orDie(
        sql`SELECT ${runColumns}, spec, (SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ${runId}) AS last_seq
          FROM runs WHERE id = ${runId}`
      ).pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row) => ({
            record: runOf(row),
            workflow: Workflow.decode(parseJson(row.spec)),
            lastSeq: Number(row.last_seq)
          }))
        )
      ),
    workflow: (runId) =>
      Effect.orDie(sql`SELECT spec FROM runs WHERE id = ${runId}`).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => Workflow.decode(parseJson(row.spec))))
      ),
    runs: (query) => {
      const before = query.before
      const where = sql.and([
        ...(query.status === undefined ? [] : [sql`status = ${query.status}`]),
        ...(query.name === undefined ? [] : [sql`name = ${query.name}`]),
        ...(query.since === undefined ? [] : [sql`created_at >= ${query.since}`]),
        ...(query.until === undefined ? [] : [sql`created_at < ${query.until}`]),
        ...(before === undefined
          ? []
          : [sql`(created_at < ${before.createdAt} OR (created_at = ${before.createdAt} AND id < ${before.id}))`])
      ])
      return Effect.orDie(
        sql`SELECT ${runViewColumns} FROM runs WHERE ${where}
          ORDER BY created_at DESC, id DESC LIMIT ${query.limit ?? 50} OFFSET ${query.offset ?? 0}`
      ).pipe(Effect.map((rows) => rows.map(runOf)))
    },
    counts: Effect.orDie(sql`SELECT name, status, COUNT(*) AS count FROM runs GROUP BY name, status`).pipe(
      Effect.map((rows) =>
        rows.map((row) => ({ name: row.name as string, status: row.status as Run.RunStatus, count: Number(row.count) }))
      )
    ),
    tasks: (runId) =>
      Effect.orDie(sql`SELECT * FROM tasks WHERE run_id = ${runId} ORDER BY position`).pipe(
        Effect.map((rows) => rows.map(taskOf))
      ),
    attempts: (runId) =>
      Effect.orDie(sql`SELECT * FROM attempts WHERE run_id = ${runId} ORDER BY task_id, attempt`).pipe(
        Effect.map((rows) => rows.map(attemptOf))
      ),
    events: (runId, afterSeq = 0) =>
      Effect.orDie(sql`SELECT data FROM events WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq`).pipe(
        Effect.map((rows) => rows.map((row) => parseJson(row.data) as Event.Event))
      ),
    lastSeq: (runId) =>
      Effect.orDie(sql`SELECT MAX(seq) AS seq FROM events WHERE run_id = ${runId}`).pipe(
        Effect.map((rows) => Number(rows[0]?.seq ?? 0))
      ),
    ended: (runIds) =>
      runIds.length === 0 ? Effect.succeed([]) : Effect.orDie(
        sql`SELECT ${runColumns} FROM runs WHERE id IN ${sql.in(runIds)} AND status NOT IN ('pending', 'running')`
      ).pipe(Effect.map((rows) => rows.map(runOf))),
    unfinished: Effect.orDie(
      sql`SELECT ${runColumns} FROM runs WHERE status IN ('pending', 'running') ORDER BY created_at`
    ).pipe(Effect.map((rows) => rows.map(runOf))),
    setOwner: (runId, owner) =>
      Effect.orDie(sql`UPDATE runs SET owner = ${owner} WHERE id = ${runId}`).pipe(Effect.asVoid),
    owner: (runId) =>
      Effect.orDie(sql`SELECT owner FROM runs WHERE id = ${runId}`).pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.owner as string | null | undefined))
      )
  })
})

/** SQLite settings. */
export interface SqliteOptions {
  /** The database file (created with its directory when missing); `:memory:` for a throwaway journal. */
  readonly filename: string
  /** `normal` survives a process crash (kill -9); `full` also survives power loss, at an fsync per commit. */
  readonly synchronous?: "normal" | "full"
}

/** The SQLite client with the journal's pragmas, migrated. */
export const layerSqliteClient = (options: SqliteOptions) =>
  Layer.effectDiscard(
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql.unsafe(`PRAGMA synchronous = ${options.synchronous === "full" ? "FULL" : "NORMAL"}`)
      yield* sql.unsafe("PRAGMA busy_timeout = 5000")
      yield* migrate
    }).pipe(Effect.orDie)
  ).pipe(
    Layer.provideMerge(
      Layer.unwrapEffect(
        Effect.sync(() => {
          if (options.filename !== ":memory:") privateFiles(options.filename)
          return SqliteClient.layer({ filename: options.filename })
        })
      )
    ),
    Layer.orDie
  )

/**
 * The journal's file is readable by its owner only (0600; SQLite gives its -wal and -shm files the same mode), in a
 * directory created 0700 (Gleitzeit's own `.gleitzeit` is narrowed to 0700 when it exists wider). Done before
 * SQLite opens the file, so it is never readable by others, not even for a moment.
 */
const privateFiles = (filename: string): void => {
  const dir = dirname(filename)
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 })
  else if (basename(resolve(dir)) === ".gleitzeit") chmodSync(dir, 0o700)
  closeSync(openSync(filename, "a", 0o600))
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    if (existsSync(`${filename}${suffix}`)) chmodSync(`${filename}${suffix}`, 0o600)
  }
}

/** The journal on a SQLite file (needs an EventBus). */
export const layerSqlite = (options: SqliteOptions): Layer.Layer<Journal, never, EventBus> =>
  Layer.scoped(Journal, make).pipe(Layer.provide(layerSqliteClient(options)))

/** PostgreSQL settings. */
export interface PgOptions {
  /** The connection URL (a secret: it may hold a password). */
  readonly url: Redacted.Redacted | string
  /** Connections kept in the pool. */
  readonly maxConnections?: number
}

/** The PostgreSQL client, migrated. */
export const layerPgClient = (options: PgOptions) =>
  Layer.effectDiscard(Effect.orDie(migrate)).pipe(
    Layer.provideMerge(
      PgClient.layer({
        url: typeof options.url === "string" ? Redacted.make(options.url) : options.url,
        maxConnections: options.maxConnections ?? 10,
        applicationName: "gleitzeit"
      })
    ),
    Layer.orDie
  )

/** The journal on PostgreSQL (needs an EventBus); the tables are shared by every node of a cluster. */
export const layerPg = (options: PgOptions): Layer.Layer<Journal, never, EventBus> =>
  Layer.scoped(Journal, make).pipe(Layer.provide(layerPgClient(options)))
