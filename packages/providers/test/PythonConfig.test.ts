import { assert, describe, it } from "@effect/vitest"
import { PythonConfig } from "@gleitzeit/providers"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

const read = (document: unknown) =>
  Effect.withConfigProvider(Config.nested(PythonConfig.config, "python"), ConfigProvider.fromJson(document))

describe("PythonConfig.config", () => {
  it.effect("gives the defaults when the python section is absent", () =>
    Effect.gen(function*() {
      const settings = yield* read({})
      assert.deepStrictEqual(settings, PythonConfig.defaults)
    }))

  it.effect("reads a python section with snake_case keys, seconds as durations", () =>
    Effect.gen(function*() {
      const settings = yield* read({
        python: {
          backend: "docker",
          timeout: 5,
          memory_mb: 128,
          max_pids: 256,
          trusted: true,
          docker: { socket: "/run/docker.sock", image: "local/python:3.11", runtime: "runsc", idle_ttl: 10 },
          local: { bwrap: "/opt/bin/bwrap" }
        }
      })
      assert.strictEqual(settings.backend, "docker")
      assert.isTrue(Duration.equals(settings.defaultTimeout, Duration.seconds(5)))
      assert.deepStrictEqual(settings.defaultLimits, { memoryMb: 128, cpus: 1, pids: 64 })
      assert.strictEqual(settings.maxLimits.pids, 256)
      assert.isTrue(settings.trustedByDefault)
      assert.strictEqual(settings.docker.socketPath, "/run/docker.sock")
      assert.strictEqual(settings.docker.runtime, "runsc")
      assert.isTrue(Duration.equals(settings.docker.idleTimeToLive, Duration.seconds(10)))
      assert.strictEqual(settings.local.bwrap, "/opt/bin/bwrap")
      assert.strictEqual(settings.local.python, "/usr/bin/python3")
    }))

  it.effect("rejects an unknown backend", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(read({ python: { backend: "pyodide" } }))
      assert.include(String(error), "backend")
    }))
})
