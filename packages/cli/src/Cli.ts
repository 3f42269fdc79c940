/**
 * The composition root of `gleitzeit`: the command tree, and the layers each command runs with. The configuration
 * is read once per invocation (`--config`, else `./gleitzeit.yaml`, `GLEITZEIT_*` over it), the workflow file of
 * `run`/`validate`/`submit` once; every command runs against the `Client` chosen here. How a command ended becomes an
 * exit status in one place (`ExitCode.report`).
 */
import { type CliApp, Command, Options } from "@effect/cli"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Argv from "./Argv.js"
import * as CliConfig from "./CliConfig.js"
import * as Cancel from "./commands/cancel.js"
import * as Init from "./commands/init.js"
import * as Keys from "./commands/keys.js"
import * as List from "./commands/list.js"
import * as Logs from "./commands/logs.js"
import * as Node from "./commands/node.js"
import * as Providers from "./commands/providers.js"
import * as Result from "./commands/result.js"
import * as Resume from "./commands/resume.js"
import * as Run from "./commands/run.js"
import * as Serve from "./commands/serve.js"
import * as Status from "./commands/status.js"
import * as Submit from "./commands/submit.js"
import * as Validate from "./commands/validate.js"
import * as Help from "./Help.js"
import * as LocalClient from "./LocalClient.js"
import type * as Output from "./Output.js"
import * as Runtime from "./Runtime.js"
import * as WorkflowFile from "./WorkflowFile.js"

/** What the executable's main hands the composition root: the environment, read there and only there. */
export interface Environment {
  /** `GLEITZEIT_*` variables as a config provider. */
  readonly config: CliConfig.Source["env"]
  /** `OLLAMA_HOST`, where a local Ollama is looked for when no LLM endpoint is configured. */
  readonly ollamaHost: string | undefined
  /** `GLEITZEIT_SECRET_<NAME>` variables, by `NAME`. */
  readonly secrets?: Readonly<Record<string, string>>
}

/** `--config FILE`, accepted anywhere on the command line (the executable moves it in front). */
export const configOption = Options.text("config").pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription("the configuration file (default: ./gleitzeit.yaml when present, else built-in defaults)"),
  Options.optional
)

/** The client of a command that executes or validates workflows (the configured providers connected). */
const executing = LocalClient.layer({ providers: true })
/** The client of a command that only reads or changes the journal. */
const reading = LocalClient.layer({ providers: false })
/** The client of a command on a workflow file: the file read once, then the client. */
const onWorkflow = ({ file }: { readonly file: string }) => executing.pipe(Layer.provideMerge(WorkflowFile.layer(file)))

/** The whole command tree, each command with its layers. */
const command = (environment: Environment) =>
  Command.make("gleitzeit", { config: configOption }).pipe(
    Command.withSubcommands([
      Command.provide(Run.command, onWorkflow),
      Command.provide(Submit.command, onWorkflow),
      Command.provide(Validate.command, onWorkflow),
      Node.command.pipe(Command.provide(Runtime.node)),
      Serve.command.pipe(Command.provide(Runtime.serve)),
      Keys.command,
      Status.command.pipe(Command.provide(reading)),
      List.command.pipe(Command.provide(reading)),
      Logs.command.pipe(Command.provide(reading)),
      Result.command.pipe(Command.provide(reading)),
      Resume.command.pipe(Command.provide(executing)),
      Cancel.command.pipe(Command.provide(reading)),
      Providers.command.pipe(Command.provide(executing)),
      Init.command
    ]),
    Command.provide(({ config }) =>
      CliConfig.layer({
        file: Option.getOrUndefined(config),
        env: environment.config,
        ollamaHost: environment.ollamaHost,
        secrets: environment.secrets
      })
    )
  )

/** The order `gleitzeit --help` lists the commands in: the everyday ones first. */
const order = [
  "run",
  "validate",
  "status",
  "result",
  "list",
  "logs",
  "cancel",
  "resume",
  "providers",
  "init",
  "submit",
  "node",
  "serve",
  "keys"
]

/** The program's name and version, as help and `--version` show them. */
export const app = { name: "gleitzeit", version: "0.1.0" }

/**
 * The whole program for a command line: `--config` moved in front of the subcommand (it may be given anywhere),
 * help pages rendered by `Help`, everything else parsed and run by the command tree.
 */
export const program = (
  environment: Environment,
  argv: ReadonlyArray<string>
): Effect.Effect<void, unknown, CliApp.CliApp.Environment | Output.Output> => {
  const tree = command(environment)
  const line = Argv.normalize(argv, Help.subcommandNames(tree))
  return line.help
    ? Help.print(tree, { ...app, subcommand: line.subcommand, order })
    : Command.run(tree, app)(line.argv)
}
