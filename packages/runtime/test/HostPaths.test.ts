/**
 * Every param that names a host path, of every method that has one, goes through the path policy when the task
 * executes: outside the roots (or hidden, or `..`) it is refused before the provider does anything else; inside,
 * the provider goes on (and here fails later, for want of an LLM endpoint or a Docker engine — which is the
 * point: it got past the file).
 */
import { assert, describe, it } from "@effect/vitest"
import { type Json, TaskError } from "@gleitzeit/core"
import { LlmProvider, ProviderRegistry, PythonProvider } from "@gleitzeit/providers"
import { Embedded, Executor } from "@gleitzeit/runtime"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { tempDir } from "./helpers.js"

/** Params that are valid for each method without the path param under test. */
const baseParams: Record<string, Json.JsonObject> = {
  "llm/chat": { model: "m", messages: [{ role: "user", content: "hi" }] },
  "llm/complete": { model: "m", prompt: "hi" },
  "llm/vision": { model: "m", prompt: "hi", images: ["aGk="] },
  "llm/embed": { model: "m", text: "hi" },
  "python/execute": {},
  "python/validate": {}
}

const providers = Layer.mergeAll(
  LlmProvider.layerConfig({
    endpoints: [{ name: "dead", type: "ollama", url: "http://127.0.0.1:1", weight: 1, priority: 0, tags: [] }],
    retryOnOtherInstance: 0
  }),
  PythonProvider.layerConfig({ backend: "docker", docker: { socketPath: "/nonexistent/docker.sock" } })
)

const setup = Effect.gen(function*() {
  const dir = yield* tempDir
  mkdirSync(join(dir, "root"))
  writeFileSync(join(dir, "root", "inside.txt"), "x = 1\n")
  writeFileSync(join(dir, "root", ".env"), "API_KEY=sk-secret\n")
  writeFileSync(join(dir, "outside.txt"), "x = 2\n")
  const context = yield* Layer.build(
    Embedded.layer({ filename: ":memory:", providers, files: { roots: [join(dir, "root")], cwd: join(dir, "root") } })
  )
  const executor = Context.get(context, Executor.Executor)
  const catalog = Context.get(context, ProviderRegistry.ProviderRegistry).catalog()
  return { dir, executor, catalog }
})

const attempt = (executor: Context.Tag.Service<Executor.Executor>, method: string, params: Json.JsonObject) =>
  Effect.flip(
    executor.execute({
      runId: "paths",
      taskId: "t",
      attempt: 1,
      method,
      params,
      timeoutMs: 20_000,
      emit: () => Effect.void
    })
  )

const reasonOf = (error: TaskError.TaskFailure): string =>
  error._tag === "ProviderError" ? error.reason._tag : error._tag

describe("host path params at execution", () => {
  it.scopedLive("every host path param of every method is refused outside the roots, and passed inside them", () =>
    Effect.gen(function*() {
      const { catalog, dir, executor } = yield* setup
      const withPaths = catalog.methods.filter((m) => (m.hostPaths ?? []).length > 0)
      assert.deepStrictEqual(withPaths.map((m) => m.name).sort(), Object.keys(baseParams).sort())
      let checked = 0
      for (const method of withPaths) {
        for (const name of method.hostPaths!) {
          const as = (path: string): Json.JsonObject => ({
            ...baseParams[method.name]!,
            [name]: name.endsWith("s") ? [path] : path
          })
          for (const path of [join(dir, "outside.txt"), "/proc/self/environ", ".env", "../outside.txt"]) {
            const error = yield* attempt(executor, method.name, as(path))
            assert.strictEqual(reasonOf(error), "SandboxViolation", `${method.name} ${name} ${path}`)
          }
          const inside = yield* attempt(executor, method.name, as("inside.txt"))
          assert.strictEqual(reasonOf(inside), "Unavailable", `${method.name} ${name} inside the root`)
          checked++
        }
      }
      assert.strictEqual(checked, 12)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
})
