/**
 * What only the Docker backend does: warm containers reused for trusted code (and retired when a run ends badly),
 * fresh containers for untrusted code, idle reaping, and no container left behind once the sandbox is closed.
 * Needs the engine and image of scripts/setup-test-infra.sh; without them these tests fail, naming the component.
 */
import { assert, describe, it, layer } from "@effect/vitest"
import { DockerSandbox } from "@gleitzeit/providers"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import {
  components,
  docker,
  execute,
  executeFailing,
  layer as pythonLayer,
  noContainerLeft,
  ourContainers,
  processesMatching,
  timed
} from "./sandboxHelpers.js"

const hostnameCode = "import socket\nresult = socket.gethostname()"

/** Containers of ours that belong to the warm pool. */
const warmContainers = Effect.map(
  ourContainers(),
  (list) => list.filter((c) => c.Labels["gleitzeit.pool"] !== undefined)
)

describe("the Docker engine", () => {
  it.effect(`answers on ${components.socketPath} and has the image ${components.image}`, () =>
    Effect.gen(function*() {
      const probe = yield* Effect.either(DockerSandbox.probe(components))
      if (probe._tag === "Left") assert.fail(`${probe.left.message} (run scripts/setup-test-infra.sh)`)
    }))
})

layer(pythonLayer("docker", { docker: { poolSize: 2 } }), { excludeTestServices: true, timeout: 120_000 })(
  "docker warm pool",
  (it) => {
    it.effect("trusted code reuses a warm container, and a reused run is faster than a fresh one", () =>
      Effect.gen(function*() {
        const first = yield* execute({ code: hostnameCode, trusted: true })
        const reused = yield* Effect.forEach([1, 2, 3], () => timed(execute({ code: hostnameCode, trusted: true })))
        for (const [, run] of reused) assert.strictEqual(run.result, first.result)
        const fresh = yield* Effect.forEach([1, 2, 3], () => timed(execute({ code: hostnameCode })))
        for (const [, run] of fresh) assert.notStrictEqual(run.result, first.result)
        // The warm path skips create, start and remove (best of three each, robust to a busy machine).
        assert.isBelow(Math.min(...reused.map(([ms]) => ms)), Math.min(...fresh.map(([ms]) => ms)))
        const warm = yield* warmContainers
        assert.strictEqual(warm.length, 1)
        assert.isTrue(warm[0]!.Id.startsWith(first.result as string))
      }))

    it.effect("untrusted code gets a fresh container for every run, removed afterwards", () =>
      Effect.gen(function*() {
        const warm = (yield* execute({ code: hostnameCode, trusted: true }, "warm-ref")).result
        const a = (yield* execute({ code: hostnameCode }, "fresh-a")).result
        const b = (yield* execute({ code: hostnameCode }, "fresh-b")).result
        assert.notStrictEqual(a, b)
        assert.notStrictEqual(a, warm)
        assert.notStrictEqual(b, warm)
        yield* noContainerLeft("-fresh-a-")
        yield* noContainerLeft("-fresh-b-")
      }))

    it.effect("a trusted run does not see files or processes of the one before", () =>
      Effect.gen(function*() {
        const first = yield* execute({
          code: [
            "import socket, subprocess",
            "open('/tmp/secret', 'w').write('from run 1')",
            "subprocess.Popen(['/usr/bin/python3', '-c', 'import time; time.sleep(300)'])",
            "result = socket.gethostname()"
          ].join("\n"),
          trusted: true
        })
        const second = yield* execute({
          code: [
            "import os, socket",
            "others = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid())]",
            "result = {'host': socket.gethostname(), 'secret': os.path.exists('/tmp/secret'), 'others': others}"
          ].join("\n"),
          trusted: true
        })
        const seen = second.result as { host: string; secret: boolean; others: Array<string> }
        assert.strictEqual(seen.host, first.result)
        assert.isFalse(seen.secret)
        assert.deepStrictEqual(seen.others, [])
      }))

    it.effect("a warm container whose run timed out, was interrupted or ran out of memory is retired", () =>
      Effect.gen(function*() {
        const before = (yield* execute({ code: hostnameCode, trusted: true })).result
        const timeout = yield* executeFailing({ code: "while True:\n    pass", timeout: 1, trusted: true })
        assert.strictEqual(timeout.reason._tag, "Timeout")
        const afterTimeout = (yield* execute({ code: hostnameCode, trusted: true })).result
        assert.notStrictEqual(afterTimeout, before)

        const fiber = yield* Effect.fork(execute({ code: "import time\ntime.sleep(60)", trusted: true }, "warm-cut"))
        yield* Effect.suspend(() =>
          processesMatching("-warm-cut-").length > 0 ? Effect.void : Effect.fail("not started")
        ).pipe(Effect.retry({ schedule: Schedule.spaced("20 millis"), times: 500 }))
        yield* Fiber.interrupt(fiber)
        const afterInterrupt = (yield* execute({ code: hostnameCode, trusted: true })).result
        assert.notStrictEqual(afterInterrupt, afterTimeout)

        const oom = yield* executeFailing({
          code: "data = 'x' * (400 * 1024 * 1024)",
          limits: { memory_mb: 64 },
          trusted: true
        })
        assert.strictEqual(oom.reason._tag, "OutOfMemory")
        const retired = (yield* ourContainers()).map((c) => c.Id)
        for (const id of [before, afterTimeout] as Array<string>) {
          assert.isFalse(retired.some((full) => full.startsWith(id)), `container ${id} should be removed`)
        }
      }))

    it.effect("a warm container killed from outside is replaced on the next run", () =>
      Effect.gen(function*() {
        const before = (yield* execute({ code: hostnameCode, trusted: true })).result as string
        const [victim] = (yield* warmContainers).filter((c) => c.Id.startsWith(before))
        yield* Effect.promise(() => docker.getContainer(victim!.Id).kill())
        const after = yield* execute({ code: hostnameCode, trusted: true })
        assert.notStrictEqual(after.result, before)
      }))
  }
)

describe("docker sandbox lifecycle", () => {
  it.live("a warm container idle past its time-to-live is removed, and the pool serves on with a new one", () =>
    Effect.gen(function*() {
      const first = (yield* execute({ code: hostnameCode, trusted: true })).result
      assert.strictEqual((yield* warmContainers).length, 1)
      yield* Effect.retry(
        Effect.flatMap(warmContainers, (list) => list.length === 0 ? Effect.void : Effect.fail("still there")),
        { schedule: Schedule.spaced("100 millis"), times: 50 }
      )
      const second = (yield* execute({ code: hostnameCode, trusted: true })).result
      assert.notStrictEqual(second, first)
    }).pipe(Effect.provide(pythonLayer("docker", { docker: { idleTimeToLive: Duration.millis(500) } }))))

  it.live("no container of this process is left once the sandboxes are closed", () => noContainerLeft())
})
