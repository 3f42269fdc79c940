/**
 * `gleitzeit init NAME`: write a starter workflow NAME.yaml.
 */
import { Args, Command, Options as CliOptions } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { existsSync, writeFileSync } from "node:fs"
import * as ExitCode from "../ExitCode.js"
import * as Templates from "../Templates.js"

/** The `init` command. */
export const command = Command.make(
  "init",
  {
    name: Args.text({ name: "NAME" }).pipe(Args.withDescription("the workflow's name; the file is NAME.yaml")),
    type: CliOptions.choice("type", Templates.kinds).pipe(
      CliOptions.withDescription(`what the starter workflow uses: ${Templates.kinds.join(", ")} (default: basic)`),
      CliOptions.withDefault("basic" as const)
    ),
    force: CliOptions.boolean("force").pipe(
      CliOptions.withDescription("overwrite NAME.yaml when it exists (default: refuse)")
    )
  },
  ({ force, name, type }) =>
    Effect.gen(function*() {
      if (!/^[\w.-]+$/.test(name)) {
        return yield* new ExitCode.UsageError({ message: `'${name}' is not a valid file name` })
      }
      const file = `${name}.yaml`
      if (!force && existsSync(file)) {
        return yield* new ExitCode.UsageError({ message: `${file} already exists (--force overwrites it)` })
      }
      yield* Effect.sync(() => writeFileSync(file, Templates.render(name, type)))
      yield* Console.log(`✔ wrote ${file}; run it with: gleitzeit run ${file}`)
    })
).pipe(Command.withDescription("Write a starter workflow NAME.yaml"))
