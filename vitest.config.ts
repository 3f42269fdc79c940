import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

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
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./test/support/summaryReporter.ts"]
  }
})
