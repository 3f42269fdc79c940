import { fileURLToPath } from "node:url"
import { configDefaults, defineConfig } from "vitest/config"

const src = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

/** Tests that need a real external component (PostgreSQL, Redis, Docker, bubblewrap, an LLM or MCP server). */
const integration = ["packages/*/test/**/*.integration.test.ts", "test/**/*.integration.test.ts"]

export default defineConfig({
  resolve: {
    alias: {
      "@gleitzeit/core": src("core"),
      "@gleitzeit/providers": src("providers"),
      "@gleitzeit/runtime": src("runtime"),
      "@gleitzeit/cli": src("cli")
    }
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./test/support/summaryReporter.ts"],
    // `vitest run` runs both; `vitest run --project unit` (npm run test:unit) needs no root and no services.
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...integration]
        }
      },
      { extends: true, test: { name: "integration", include: integration } }
    ]
  }
})
