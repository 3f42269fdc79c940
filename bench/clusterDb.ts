/**
 * The cluster bench's PostgreSQL side: a fresh database per measurement (created and dropped through the server's
 * `postgres` database), and a probe connection reading the journal and `pg_stat_activity`. The probe names itself
 * `gleitzeit-bench-probe`, so the database CPU figures leave its own queries out.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"

/** The PostgreSQL server (trust auth): `BENCH_PG`, by default the local one. */
export const server = process.env.BENCH_PG ?? "postgres://postgres@127.0.0.1:5432"

const probeName = "gleitzeit-bench-probe"

const withClient = <A>(url: string, name: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, SqlError>) =>
  Effect.runPromise(
    Effect.flatMap(PgClient.PgClient, f).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: name }))
    )
  )

/** A database made for one measurement. */
export interface Database {
  readonly name: string
  readonly url: string
  /** Drops it, closing whatever connections are left. */
  readonly drop: () => Promise<void>
}

/** Creates an empty database `name` (lower-case letters, digits and `_`). */
export const create = async (name: string): Promise<Database> => {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`)
  await withClient(`${server}/postgres`, "gleitzeit-bench-admin", (sql) => sql.unsafe(`CREATE DATABASE ${name}`))
  return {
    name,
    url: `${server}/${name}`,
    drop: () =>
      withClient(
        `${server}/postgres`,
        "gleitzeit-bench-admin",
        (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      ).then(() => undefined)
  }
}

/** A PostgreSQL server process that works for every database (checkpointer, background writer, WAL writer…). */
export interface ServerProcess {
  readonly pid: number
  readonly type: string
}

/** How many of a workflow's attempts (or runs) each node took. */
export type Spread = ReadonlyArray<{ readonly node: string; readonly count: number }>

/** A connection to a bench database for reading the journal and the server's activity. */
export interface Probe {
  /** Runs a query. */
  readonly query: <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, SqlError>) => Promise<A>
  /** The backends serving this database right now (one per connection), the probe's own left out. */
  readonly backendPids: () => Promise<ReadonlyArray<number>>
  /** The server's background processes shared by all databases. */
  readonly serverProcesses: () => Promise<ReadonlyArray<ServerProcess>>
  /** Attempts of the runs of workflow `name` per executing node (`attempts.node`). */
  readonly attemptsByNode: (name: string) => Promise<Spread>
  /** Runs of workflow `name` per owner (`runs.owner`: the node whose coordinator ran it last). */
  readonly runsByOwner: (name: string) => Promise<Spread>
  readonly dispose: () => Promise<void>
}

const toSpread = (rows: ReadonlyArray<Record<string, unknown>>): Spread =>
  rows.map((row) => ({ node: String(row.node ?? "(none)"), count: Number(row.count) }))

/** Opens a probe connection to `url`. */
export const probe = (url: string): Probe => {
  const runtime = ManagedRuntime.make(
    PgClient.layer({ url: Redacted.make(url), maxConnections: 1, applicationName: probeName })
  )
  const query = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, SqlError>) =>
    runtime.runPromise(Effect.flatMap(PgClient.PgClient, f))
  return {
    query,
    backendPids: () =>
      query((sql) =>
        sql`SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name <> ${probeName}`
      ).then((rows) => rows.map((row) => Number(row.pid))),
    serverProcesses: () =>
      query((sql) =>
        sql`SELECT pid, backend_type FROM pg_stat_activity
            WHERE backend_type IN ('checkpointer', 'background writer', 'walwriter', 'autovacuum launcher')`
      ).then((rows) => rows.map((row) => ({ pid: Number(row.pid), type: String(row.backend_type) }))),
    attemptsByNode: (name) =>
      query((sql) =>
        sql`SELECT a.node, count(*)::int AS count FROM attempts a JOIN runs r ON r.id = a.run_id
            WHERE r.name = ${name} GROUP BY a.node ORDER BY a.node`
      ).then(toSpread),
    runsByOwner: (name) =>
      query((sql) =>
        sql`SELECT owner AS node, count(*)::int AS count FROM runs WHERE name = ${name}
            GROUP BY owner ORDER BY owner`
      ).then(toSpread),
    dispose: () => runtime.dispose()
  }
}

/** `a 12 · b 10` */
export const formatSpread = (spread: Spread): string =>
  spread.length === 0 ? "none" : spread.map((s) => `${s.node} ${s.count}`).join(" · ")
