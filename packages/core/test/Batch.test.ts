import { assert, describe, it } from "@effect/vitest"
import { Batch, WorkflowLoader } from "@gleitzeit/core"
import * as Effect from "effect/Effect"

describe("Batch", () => {
  it("globToRegExp matches *, **, ?, {a,b} and [..] over relative paths", () => {
    const cases: ReadonlyArray<[string, string, boolean]> = [
      ["*.txt", "a.txt", true],
      ["*.txt", "sub/a.txt", false],
      ["**/*.txt", "a.txt", true],
      ["**/*.txt", "x/y/a.txt", true],
      ["doc?.md", "doc1.md", true],
      ["doc?.md", "doc12.md", false],
      ["*.{png,jpg}", "cat.jpg", true],
      ["*.{png,jpg}", "cat.gif", false],
      ["img[0-9].png", "img7.png", true],
      ["a.b", "axb", false]
    ]
    for (const [pattern, path, expected] of cases) {
      assert.strictEqual(Batch.globToRegExp(pattern).test(path), expected, `${pattern} vs ${path}`)
    }
  })

  it("expand makes one task per file, puts the path where the method expects it, and continues past failures", () => {
    const expanded = Batch.expand({
      name: "b",
      type: "batch",
      batch: { directory: "docs", pattern: "*.txt" },
      template: { method: "llm/chat", model: "m", prompt: "Summarize", retry: { max_attempts: 2 } }
    }, ["/d/a.txt", "/d/b.txt"])
    assert.strictEqual(expanded["on_failure"], "continue")
    assert.deepStrictEqual(expanded["tasks"], [
      {
        id: "file-1",
        name: "/d/a.txt",
        method: "llm/chat",
        params: { model: "m", prompt: "Summarize", file_path: "/d/a.txt" },
        retry: { max_attempts: 2 }
      },
      {
        id: "file-2",
        name: "/d/b.txt",
        method: "llm/chat",
        params: { model: "m", prompt: "Summarize", file_path: "/d/b.txt" },
        retry: { max_attempts: 2 }
      }
    ])
    const vision = Batch.expand({ template: { method: "llm/vision", params: { model: "v" } } }, ["/i/x.png"])
    assert.deepStrictEqual((vision["tasks"] as Array<{ params: unknown }>)[0]!.params, {
      model: "v",
      image_path: "/i/x.png"
    })
    const python = Batch.expand({ template: { method: "python/execute", params: { code: "x", context: { k: 1 } } } }, [
      "/p/f.csv"
    ])
    assert.deepStrictEqual((python["tasks"] as Array<{ params: unknown }>)[0]!.params, {
      code: "x",
      context: { k: 1, file_path: "/p/f.csv" }
    })
  })

  it.effect("the loader expands a batch workflow through the given file listing", () =>
    Effect.gen(function*() {
      const text =
        "name: b\ntype: batch\nbatch: { directory: docs, pattern: '*.txt' }\ntemplate: { method: mcp/tool.echo, message: hi }\n"
      const seen: Array<string> = []
      const { workflow } = yield* WorkflowLoader.load(text, {
        listFiles: (directory, pattern) => {
          seen.push(`${directory}|${pattern}`)
          return Effect.succeed(["/x/1.txt", "/x/2.txt", "/x/3.txt"])
        }
      })
      assert.deepStrictEqual(seen, ["docs|*.txt"])
      assert.deepStrictEqual(workflow.tasks.map((t) => t.id), ["file-1", "file-2", "file-3"])
      assert.strictEqual(workflow.onFailure, "continue")
      assert.deepStrictEqual(workflow.tasks[1]!.params, { message: "hi", file_path: "/x/2.txt" })
    }))

  it.effect("a batch that matches no file, or that cannot be listed, is a validation error", () =>
    Effect.gen(function*() {
      const text = "type: batch\nbatch: { directory: docs, pattern: '*.txt' }\ntemplate: { method: mcp/tool.echo }\n"
      const empty = yield* Effect.flip(WorkflowLoader.load(text, { listFiles: () => Effect.succeed([]) }))
      assert.strictEqual(empty._tag, "WorkflowValidationError")
      assert.match(empty.message, /no file matches '\*\.txt' in 'docs'/)
      const unreadable = yield* Effect.flip(WorkflowLoader.load(text, { listFiles: () => Effect.fail("ENOENT") }))
      assert.match(unreadable.message, /cannot list docs\/\*\.txt: ENOENT/)
      const noLister = yield* Effect.flip(WorkflowLoader.load(text))
      assert.match(noLister.message, /batch workflows need a file listing/)
    }))
})
