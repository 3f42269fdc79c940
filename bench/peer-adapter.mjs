// Gleitzeit in ../shared/bench-peers' harness, side by side with the peers in one run:
//   rm -rf /tmp/peers && cp -r ../shared/bench-peers /tmp/peers && (cd /tmp/peers && ./setup.sh)
//   npm run build && EXTRA_BENCH="gleitzeit=node $PWD/bench/peer-adapter.mjs" /tmp/peers/run-all.sh bullmq
// W1 is one run of N1 independent tasks (each journaled: started, completed); w1b_jobs_s adds N1 one-task runs.
import { emit, P, range, timeW1, timeW2, timeW3, W2, W3 } from "/tmp/peers/bench/lib.mjs"
import { WorkflowLoader } from "@gleitzeit/core"
import { FnProvider, ProviderRegistry } from "@gleitzeit/providers"
import { Embedded, Engine } from "@gleitzeit/runtime"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const peer = process.env.PEER_NAME || "gleitzeit"
const dir = mkdtempSync(join(tmpdir(), "gleitzeit-peers-"))
const functions = [
  FnProvider.sync("noop", () => null),
  FnProvider.sync("s1", (p) => W2.s1(Number(p.x))),
  FnProvider.sync("s2", (p) => W2.s2(Number(p.a))),
  FnProvider.sync("s3", (p) => W2.s3(Number(p.a))),
  FnProvider.sync("s4", (p) => W2.s4(Number(p.b), Number(p.c))),
  FnProvider.sync("s5", (p) => W2.s5(Number(p.d))),
  FnProvider.sync("c1", (p) => W3.s1(Number(p.x))),
  FnProvider.sync("c2", (p) => W3.s2(Number(p.a))),
  FnProvider.sync("c3", (p) => W3.s3(Number(p.b)))
]
const runtime = ManagedRuntime.make(
  Embedded.layer({ filename: join(dir, "journal.db"), functions, concurrency: P.CONC })
)
const engine = await runtime.runPromise(Engine.Engine)
const registry = await runtime.runPromise(ProviderRegistry.ProviderRegistry)
const load = (doc) =>
  runtime.runPromise(Effect.map(WorkflowLoader.fromObject(doc, { catalog: registry.catalog() }), (l) => l.workflow))
const execute = (wf) => runtime.runPromise(engine.execute(wf))

const wide = (n) => load({ name: "w1", tasks: range(n).map((i) => ({ id: `t${i}`, method: "fn/noop", retry: 1 })) })
const single = await load({ name: "w1b", tasks: [{ id: "t", method: "fn/noop", retry: 1 }] })
const diamond = (x) =>
  load({
    name: "w2",
    tasks: [
      { id: "s1", method: "fn/s1", params: { x } },
      { id: "s2", method: "fn/s2", params: { a: "${s1}" } },
      { id: "s3", method: "fn/s3", params: { a: "${s1}" } },
      { id: "s4", method: "fn/s4", params: { b: "${s2}", c: "${s3}" } },
      { id: "s5", method: "fn/s5", params: { d: "${s4}" } }
    ],
    outputs: { value: "${s5}" }
  })
const chain = (x) =>
  load({
    name: "w3",
    tasks: [
      { id: "c1", method: "fn/c1", params: { x } },
      { id: "c2", method: "fn/c2", params: { a: "${c1}" } },
      { id: "c3", method: "fn/c3", params: { b: "${c2}" } }
    ],
    outputs: { value: "${c3}" }
  })
const runW1 = async (n, label) => {
  const wf = await wide(n)
  let done
  return timeW1(label, async () => {
    done = execute(wf)
  }, () => done)
}

// warm-up (not measured), as the peers do
await runW1(100, "warmup-w1")
for (let i = 0; i < 5; i++) await execute(await chain(i))

const r1 = await runW1(P.N1, `${peer} W1`)
const b0 = performance.now()
const ids = await Promise.all(range(P.N1).map(() => runtime.runPromise(engine.submit(single))))
await Promise.all(ids.map((id) => runtime.runPromise(engine.wait(id))))
const w1b = P.N1 / ((performance.now() - b0) / 1000)
const wfs2 = await Promise.all(range(P.N2).map(diamond))
const r2 = await timeW2(`${peer} W2`, async (x) => (await execute(wfs2[x])).outputs.value)
const r3 = await timeW3(`${peer} W3`, async (x) => (await execute(await chain(x))).outputs.value)
emit({
  peer,
  ok: true,
  ...r1,
  ...r2,
  ...r3,
  w1b_jobs_s: w1b,
  config: `embedded engine, SQLite journal (WAL, synchronous=NORMAL), every transition journaled; concurrency=${P.CONC}`
})
await runtime.dispose()
rmSync(dir, { recursive: true, force: true })
process.exit(0)
