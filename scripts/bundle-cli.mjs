// Bundles the CLI into one ES module (packages/cli/dist/gleitzeit.mjs): one file to parse at start-up instead of
// hundreds (≈0.4 s instead of ≈1 s). Native modules stay external.
import { build } from "esbuild"

await build({
  entryPoints: ["packages/cli/dist/bin.js"],
  outfile: "packages/cli/dist/gleitzeit.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["better-sqlite3", "ssh2", "cpu-features"],
  banner: {
    js:
      "import { createRequire as __gleitzeitRequire } from \"node:module\"\nconst require = __gleitzeitRequire(import.meta.url)"
  },
  logLevel: "warning"
})
