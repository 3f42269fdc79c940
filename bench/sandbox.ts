/**
 * Per-execution latency of `python/execute` on each sandbox backend, measured through the provider (runner,
 * sandbox, reply parsing), sequentially, for a trivial script. Prints a table.
 *
 *   docker  cold = a fresh container per run (untrusted code: create, attach, start, wait, remove)
 *           warm = exec in a pooled warm container (trusted code), after the pool's first container started
 *           first = the first trusted run, which also creates and starts the warm container
 *   local   every run is a fresh bubblewrap sandbox; cold = the first run of the process, warm = the runs after it
 *
 * Run: `npx tsc -b && node bench/dist/sandbox.js` (N=20 runs per row; GLEITZEIT_DOCKER_SOCKET, GLEITZEIT_PYTHON_IMAGE
 * as in the tests, defaults from scripts/setup-test-infra.sh).
 */
import { PathPolicy, PythonConfig, PythonProvider } from "@gleitzeit/providers"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { performance } from "node:perf_hooks"

const N = Number(process.env.N ?? 20)
const socketPath = process.env.GLEITZEIT_DOCKER_SOCKET ?? "/var/lib/gleitzeit-ci/docker/docker.sock"
const image = process.env.GLEITZEIT_PYTHON_IMAGE ?? "gleitzeit/python:3.11"

const pct = (values: ReadonlyArray<number>, p: number) => {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

interface Row {
  readonly backend: string
  readonly kind: string
  readonly samples: ReadonlyArray<number>
}

const measure = (backend: "docker" | "local") =>
  Effect.gen(function*() {
    const python = yield* PythonProvider.make
    const spec = python.spec.methods.find((m) => m.name === "python/execute")!
    const ctx = { runId: "bench", taskId: "bench", attempt: 1, idempotencyKey: "bench", emit: () => Effect.void }
    const once = (trusted: boolean) =>
      Effect.gen(function*() {
        const params = Schema.decodeUnknownSync(spec.params)({ code: "result = sum(range(1000))", trusted })
        const started = performance.now()
        const out = (yield* python.execute(spec, params, ctx)) as { result: number }
        if (out.result !== 499500) return yield* Effect.die(new Error(`wrong result ${out.result}`))
        return performance.now() - started
      })
    const many = (trusted: boolean) => Effect.forEach(Array.from({ length: N }), () => once(trusted))
    const rows: Array<Row> = []
    if (backend === "docker") {
      rows.push({ backend, kind: "cold (fresh container)", samples: yield* many(false) })
      rows.push({ backend, kind: "first trusted (starts warm container)", samples: [yield* once(true)] })
      rows.push({ backend, kind: "warm (exec in pooled container)", samples: yield* many(true) })
    } else {
      rows.push({ backend, kind: "cold (first run)", samples: [yield* once(false)] })
      rows.push({ backend, kind: "warm (later runs, fresh sandbox each)", samples: yield* many(false) })
    }
    return rows
  }).pipe(
    Effect.provide(
      PythonProvider.layerSandbox.pipe(
        Layer.provideMerge(PythonConfig.PythonConfig.layer({ backend, docker: { socketPath, image } })),
        Layer.merge(PathPolicy.layer())
      )
    )
  )

const main = Effect.gen(function*() {
  const rows = [...(yield* measure("docker")), ...(yield* measure("local"))]
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(38) : c.padStart(8))).join(" | ")} |`
  console.log(`\npython/execute latency per execution, ms (N=${N}, sequential, \`result = sum(range(1000))\`)`)
  console.log(line(["backend", "kind", "p50", "p95", "min", "max"]))
  for (const r of rows) {
    const fmt = (n: number) => n.toFixed(0)
    console.log(line([
      r.backend,
      r.kind,
      fmt(pct(r.samples, 50)),
      fmt(pct(r.samples, 95)),
      fmt(Math.min(...r.samples)),
      fmt(Math.max(...r.samples))
    ]))
  }
})

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
