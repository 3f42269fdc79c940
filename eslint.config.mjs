// Lint and format configuration (ESLint 9 flat config), modelled on the Effect monorepo's.
// Formatting is the `@effect/dprint` rule: `npm run lint:fix` rewrites files to it.
import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import { defineConfig } from "eslint/config"
import tseslint from "typescript-eslint"

export default defineConfig(
  {
    ignores: ["**/dist/**", "**/node_modules/**", "**/*.md", "test/llm/empty-package/**"]
  },
  {
    files: ["**/*.{ts,mjs}"],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module"
    }
  },
  ...effectEslint.configs.dprint,
  {
    files: ["**/*.{ts,mjs}"],
    rules: {
      // TypeScript already checks these (noFallthroughCasesInSwitch, noUnusedLocals/Parameters).
      "no-fallthrough": "off",
      "no-unused-vars": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Effect generators often have no `yield*` (Effect.gen bodies that only return).
      "require-yield": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "object-shorthand": "error",
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  },
  {
    // House style (../shared/STYLE.md): library code takes time, randomness and configuration through Effect, so
    // tests run on TestClock and only an executable's main.ts reads the environment.
    files: ["packages/core/src/**", "packages/providers/src/**", "packages/runtime/src/**"],
    rules: {
      "no-restricted-properties": [
        "error",
        {
          object: "process",
          property: "env",
          message: "Read configuration with Config; only main.ts reads the environment."
        },
        { object: "Date", property: "now", message: "Use Clock or DateTime, so tests can run on TestClock." },
        { object: "Math", property: "random", message: "Use Random." },
        ...["runPromise", "runPromiseExit", "runSync", "runSyncExit", "runFork", "runCallback"].map((property) => ({
          object: "Effect",
          property,
          message: "Library code returns effects; only an executable runs them."
        }))
      ],
      "no-restricted-globals": [
        "error",
        { name: "setTimeout", message: "Use Effect.sleep or Schedule, so tests can run on TestClock." },
        { name: "setInterval", message: "Use Schedule, so tests can run on TestClock." }
      ]
    }
  },
  {
    // Packages print nothing themselves; the CLI renders output through its own printer.
    files: ["packages/*/src/**"],
    rules: {
      "no-console": "error",
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@gleitzeit/*/*"], message: "Import another package through its index only." }] }
      ]
    }
  },
  {
    files: ["**/*.mjs"],
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        URL: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        performance: "readonly"
      }
    }
  }
)
