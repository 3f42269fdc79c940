/**
 * The API bench's load generator, run as its own process (so its HTTP client work is not counted as the server's):
 * `node bench/dist/apiClient.js URL RUNS CLIENTS` — CLIENTS loops, each submitting a one-task run (JSON) and waiting
 * for its result (long poll), until RUNS runs are done. Prints one JSON line: the wall time and every latency.
 */
import { performance } from "node:perf_hooks"

const [url, runsArg, clientsArg] = process.argv.slice(2)
const runs = Number(runsArg)
const clients = Number(clientsArg)
const body = JSON.stringify({ workflow: { name: "api-bench", tasks: [{ id: "t", method: "fn/noop", retry: 1 }] } })

const once = async (): Promise<number> => {
  const start = performance.now()
  const submitted = await fetch(`${url}/v1/runs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body
  })
  if (submitted.status !== 201) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`)
  const { runId } = (await submitted.json()) as { runId: string }
  const result = await fetch(`${url}/v1/runs/${runId}/result?timeout=60`)
  const outcome = (await result.json()) as { status: string; done: boolean }
  if (!outcome.done || outcome.status !== "completed") throw new Error(`run ${runId}: ${JSON.stringify(outcome)}`)
  return performance.now() - start
}

const main = async () => {
  const latencies: Array<number> = []
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < runs) {
      next++
      latencies.push(await once())
    }
  }))
  console.log(JSON.stringify({ wallMs: performance.now() - t0, latencies }))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
