/**
 * A real cluster for end-to-end tests: a fresh PostgreSQL database and Redis key prefix per test file, `gleitzeit
 * node` processes on free ports of 127.0.0.1, SQL access to the shared journal, and an in-process client-only member
 * for submitting many runs quickly.
 */
import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import { DemoToolsProtocol, HttpProtocol, Protocol, WorkflowLoader } from "@gleitzeit/core"
import { Cluster, Engine } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import { randomUUID } from "node:crypto"
import { writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { type Running, start, workspace } from "./cli.js"

const adminUrl = process.env["GLEITZEIT_TEST_PG_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres"
const redisUrl = process.env["GLEITZEIT_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** Runs one SQL statement against `url`. */
export const query = <A extends object>(url: string, statement: string): Promise<ReadonlyArray<A>> =>
  Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<A>(statement)).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(url) })),
      Effect.scoped
    )
  )

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A node process of the test cluster. */
export interface Node {
  readonly name: string
  readonly port: number
  readonly process: Running
}

/** The test cluster. */
export interface TestCluster {
  /** The PostgreSQL URL of its journal. */
  readonly url: string
  /** The directory whose gleitzeit.yaml names the database and Redis; CLI commands run there. */
  readonly dir: string
  readonly opts: { readonly cwd: string; readonly db: string }
  readonly write: (name: string, text: string) => string
  readonly nodes: Map<string, Node>
  /** Starts a node and waits until it listens. */
  readonly startNode: (name: string, port?: number, args?: ReadonlyArray<string>) => Promise<Node>
  /** Submits a workflow (YAML text) through the in-process client; returns the run id. */
  readonly submit: (yaml: string) => Promise<string>
  /** Runs SQL against the journal. */
  readonly sql: <A extends object>(statement: string) => Promise<ReadonlyArray<A>>
  /**
   * Waits until each named node holds shards: probe runs are submitted until their attempts have executed on every
   * one of them (nodes starting together take a moment to agree on the assignment).
   */
  readonly settled: (names: ReadonlyArray<string>) => Promise<void>
  /** Polls `check` until it returns a value (not undefined). */
  readonly until: <A>(check: () => Promise<A | undefined>, what: string) => Promise<A>
  readonly close: () => Promise<void>
}

const catalog = Protocol.catalog([HttpProtocol.spec, DemoToolsProtocol.spec])

/**
 * Creates the database and the workspace; nodes are started by the tests. `config` is added to the workspace's
 * gleitzeit.yaml (e.g. an `llm` section for the nodes).
 */
export const makeCluster = async (config = ""): Promise<TestCluster> => {
  const database = `gleitzeit_cluster_${process.pid}_${Math.floor(performance.now())}`
  try {
    await query(adminUrl, `CREATE DATABASE ${database}`)
  } catch (cause) {
    throw new Error(
      `PostgreSQL at ${adminUrl} is not reachable (start it: see reference/test-infrastructure.md): ${String(cause)}`
    )
  }
  const u = new URL(adminUrl)
  u.pathname = `/${database}`
  const url = u.toString()
  const prefix = `gz-cluster-test-${randomUUID()}:`
  const ws = workspace()
  ws.write("gleitzeit.yaml", `database: ${url}\nredis: ${redisUrl}\nredis_prefix: "${prefix}"\n${config}`)
  const opts = { cwd: ws.dir, db: url }
  const nodes = new Map<string, Node>()
  const everyNode: Array<Node> = []
  const client = ManagedRuntime.make(Cluster.layerClient({ database: url }))

  const startNode = async (name: string, port?: number, args: ReadonlyArray<string> = []): Promise<Node> => {
    const chosen = port ?? await freePort()
    // A node serves the HTTP API at its port + 10000 unless told otherwise: off here, where ports are picked at
    // random (the API tests give it a free one).
    const api = args.includes("--api") ? [] : ["--api", "off"]
    const running = start(
      ["node", "--listen", `127.0.0.1:${chosen}`, "--name", name, "--concurrency", "32", ...api, ...args],
      opts
    )
    await running.waitFor(/● node .* listening/)
    const node = { name, port: chosen, process: running }
    nodes.set(name, node)
    everyNode.push(node)
    return node
  }

  const submit = (yaml: string) =>
    client.runPromise(Effect.gen(function*() {
      const loaded = yield* Effect.orDie(WorkflowLoader.load(yaml, { catalog }))
      const engine = yield* Engine.Engine
      return yield* engine.submit(loaded.workflow)
    }))

  const until = async <A>(check: () => Promise<A | undefined>, what: string): Promise<A> => {
    // Gives up before the test's own timeout, saying what it waited for.
    const deadline = performance.now() + 45_000
    for (;;) {
      const value = await check()
      if (value !== undefined) return value
      if (performance.now() > deadline) throw new Error(`gave up waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
      if (nodes.size > 0 && [...nodes.values()].every((n) => n.process.child.exitCode !== null)) {
        throw new Error(`every node exited while waiting for ${what}`)
      }
    }
  }

  const settled = async (names: ReadonlyArray<string>) => {
    await until(async () => {
      const probe = await submit(
        `name: settle\ntasks:\n${
          Array.from({ length: 24 }, (_, i) =>
            `  - id: p${i}\n    method: mcp/tool.echo\n    params: { message: "${i}" }\n`)
            .join("")
        }`
      )
      await until(async () => {
        const rows = await query<{ status: string }>(url, `SELECT status FROM runs WHERE id = '${probe}'`)
        return rows[0]?.status === "completed" ? true : undefined
      }, "a probe run")
      const rows = await query<{ node: string }>(url, `SELECT DISTINCT node FROM attempts WHERE run_id = '${probe}'`)
      const seen = new Set(rows.map((r) => r.node))
      return names.every((name) => seen.has(name)) ? true : undefined
    }, `shards on ${names.join(", ")}`)
  }

  return {
    url,
    dir: ws.dir,
    settled,
    opts,
    write: ws.write,
    nodes,
    startNode,
    submit,
    sql: (statement) => query(url, statement),
    until,
    close: async () => {
      // GLEITZEIT_TEST_NODE_LOGS=DIR keeps what each node printed, to look into a failure.
      const logs = process.env["GLEITZEIT_TEST_NODE_LOGS"]
      for (const node of logs === undefined ? [] : everyNode) {
        writeFileSync(
          `${logs}/${node.name}-${node.port}.log`,
          `${node.process.stdout()}\n--- stderr\n${node.process.stderr()}`
        )
      }
      for (const node of nodes.values()) {
        if (node.process.child.exitCode === null && node.process.child.signalCode === null) {
          node.process.child.kill("SIGKILL")
          await node.process.done
        }
      }
      await client.dispose()
      await query(adminUrl, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      ws.cleanup()
    }
  }
}
