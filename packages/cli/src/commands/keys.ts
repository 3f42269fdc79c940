/**
 * `gleitzeit keys create|list|revoke`: API keys in the configuration file. `create` prints the new key once and
 * stores only its hash (with its name and scopes) under `api.keys`, keeping the file's comments and layout.
 */
import { Args, Command, Options } from "@effect/cli"
import { Api } from "@gleitzeit/core"
import { ApiKeys } from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { isMap, isSeq, parseDocument } from "yaml"
import * as CliConfig from "../CliConfig.js"
import * as ExitCode from "../ExitCode.js"

const usage = (message: string) => new ExitCode.UsageError({ message })

/** The configuration file keys are written to: `--config`, or ./gleitzeit.yaml (created when missing). */
const configPath = Effect.map(CliConfig.Configuration, (config) => config.file ?? "gleitzeit.yaml")

/** The configuration document (comments kept) and the names of its keys. */
const open = (path: string) =>
  Effect.gen(function*() {
    const text = existsSync(path) ? readFileSync(path, "utf8") : ""
    const document = parseDocument(text)
    if (document.errors.length > 0) return yield* usage(`${path}: ${document.errors[0]!.message.split("\n")[0]}`)
    const keys = document.getIn(["api", "keys"])
    if (keys !== undefined && keys !== null && !isSeq(keys)) return yield* usage(`${path}: api.keys must be a list`)
    const names = isSeq(keys) ? keys.items.map((item) => (isMap(item) ? String(item.get("name")) : "")) : []
    return { document, names }
  })

const nameArg = Args.text({ name: "name" }).pipe(Args.withDescription("the key's name (shown as who submitted a run)"))

const create = Command.make(
  "create",
  {
    name: nameArg,
    scopes: Options.choice("scope", Api.Scope.literals).pipe(
      Options.repeated,
      Options.withDescription(
        "what the key may do, repeatable: read, submit (implies read), admin (default: none; give one)"
      )
    )
  },
  ({ name, scopes }) =>
    Effect.gen(function*() {
      const path = yield* configPath
      if (!/^[\w.@-]{1,64}$/.test(name)) {
        return yield* usage(`'${name}' is not a valid key name (letters, digits, . _ @ -)`)
      }
      if (scopes.length === 0) return yield* usage("give at least one --scope (read, submit, admin)")
      const { document, names } = yield* open(path)
      if (names.includes(name)) return yield* usage(`${path} already has a key named '${name}' (revoke it first)`)
      const { entry, key } = yield* ApiKeys.generate(name, scopes)
      const stored = { name: entry.name, hash: entry.hash, scopes: [...entry.scopes] }
      const existing = document.getIn(["api", "keys"])
      if (existing === undefined || existing === null) document.setIn(["api", "keys"], document.createNode([stored]))
      else document.addIn(["api", "keys"], document.createNode(stored))
      yield* Effect.sync(() => writeFileSync(path, document.toString()))
      yield* Console.log(key)
      yield* Console.error(
        `✔ key '${name}' (${entry.scopes.join(", ")}) added to ${path}; only its hash is stored: copy the key now, ` +
          "it is not shown again. Servers read keys when they start."
      )
    })
).pipe(Command.withDescription("Create an API key: prints the key once, stores its hash in the configuration"))

const list = Command.make("list", {}, () =>
  Effect.gen(function*() {
    const config = yield* CliConfig.Configuration
    if (config.api.keys.length === 0) return yield* Console.log(`no API keys in ${config.file ?? "gleitzeit.yaml"}`)
    for (const key of config.api.keys) yield* Console.log(`${key.name}\t${key.scopes.join(",")}`)
  })).pipe(Command.withDescription("List the API keys of the configuration (names and scopes)"))

const revoke = Command.make("revoke", { name: nameArg }, ({ name }) =>
  Effect.gen(function*() {
    const path = yield* configPath
    const { document, names } = yield* open(path)
    const index = names.indexOf(name)
    if (index < 0) return yield* new ExitCode.NotFoundError({ message: `${path} has no key named '${name}'` })
    document.deleteIn(["api", "keys", index])
    yield* Effect.sync(() => writeFileSync(path, document.toString()))
    yield* Console.log(`✔ key '${name}' removed from ${path}; servers stop accepting it when they restart`)
  })).pipe(Command.withDescription("Remove an API key from the configuration"))

/** `gleitzeit keys …`: the API keys of the configuration file. */
export const command = Command.make("keys").pipe(
  Command.withDescription("Manage the API keys of the configuration file"),
  Command.withSubcommands([create, list, revoke])
)
