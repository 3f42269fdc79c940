/**
 * The served OpenAPI document: the client types committed in test/api/schema.ts are the ones openapi-typescript
 * generates from it now, and it passes Redocly's lint (the engine of `redocly lint`, recommended rules).
 */
import { createConfig, lintFromString } from "@redocly/openapi-core"
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
// @ts-expect-error: a plain ES module shared with the generator script, without type declarations
import { apiTypes } from "../../scripts/api-types.mjs"
import { startApi, type TestApi } from "../support/api.js"

describe("the OpenAPI document", () => {
  let api: TestApi
  let document: string
  beforeAll(async () => {
    api = await startApi()
    document = await (await fetch(`${api.url}/openapi.json`)).text()
  })
  afterAll(async () => {
    await api?.close()
  })

  it("generates exactly the committed client types (regenerate with scripts/generate-api-types.mjs)", async () => {
    const committed = readFileSync(new URL("./schema.ts", import.meta.url), "utf8")
    const generated = (await apiTypes(JSON.parse(document))) as string
    expect(
      generated === committed,
      "test/api/schema.ts is stale: run `npm run build && node scripts/generate-api-types.mjs`"
    )
      .toBe(true)
  })

  it("passes Redocly's recommended lint rules without errors", async () => {
    const config = await createConfig({ extends: ["recommended"] })
    const problems = await lintFromString({ source: document, absoluteRef: `${api.url}/openapi.json`, config })
    expect(problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId}: ${p.message}`)).toEqual([])
    // The only warnings are known: the project has no license yet, and the event schema is referenced from the
    // event stream's description (OpenAPI 3.1 cannot attach a schema to each event of a text/event-stream).
    expect(problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer ?? ""}`).sort()).toEqual([
      "info-license #/info",
      "no-unused-components #/components/schemas/Event"
    ])
  })
})
