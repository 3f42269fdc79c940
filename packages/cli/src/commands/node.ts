/**
 * `gleitzeit node`: run a cluster node until SIGTERM or Ctrl-C, then drain and exit 0. The node itself is a layer
 * the composition root provides (`Runtime.node`).
 */
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { ClusterSharding } from "@gleitzeit/runtime"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ExitCode from "../ExitCode.js"
import * as Printer from "../Printer.js"
import { ClusterNode } from "../Runtime.js"
import * as Serve from "./serve.js"

const address = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.withDescription(description),
    Options.mapEffect((text) =>
      Option.match(ClusterSharding.parseAddress(text), {
        onNone: () =>
          Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: expected host:port, got '${text}'`))),
        onSome: Effect.succeed
      })
    )
  )

/** The node's flags. */
export const flags = {
  listen: address("listen", "address to listen on for other members, host:port (default: 127.0.0.1:34431)").pipe(
    Options.withDefault({ host: "127.0.0.1", port: 34431 })
  ),
  advertise: address("advertise", "address other members reach this node on (default: --listen)").pipe(
    Options.optional
  ),
  name: Options.text("name").pipe(
    Options.withPseudoName("NAME"),
    Options.withDescription("node name in the journal (default: the advertised host:port)"),
    Options.optional
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withPseudoName("N"),
    Options.withDescription("task attempts at once (default: `concurrency` of the configuration, 64)"),
    Options.optional
  ),
  drainTimeout: Options.integer("drain-timeout").pipe(
    Options.withPseudoName("SECONDS"),
    Options.withDescription("seconds a stopping node lets attempts in flight finish (default: 20)"),
    Options.withDefault(20)
  ),
  llmRouting: Options.choice("llm-routing", ["task", "model"]).pipe(
    Options.withDescription(
      "LLM calls go to workers by task (spread) or by model (to where it is loaded) (default: task)"
    ),
    Options.withDefault("task" as const)
  ),
  database: Options.text("database").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription("the cluster's postgres:// URL (default: `database` of the configuration)"),
    Options.optional
  ),
  redis: Options.text("redis").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription("Redis URL shared by the members (default: `redis` of the configuration, none)"),
    Options.optional
  ),
  api: Options.text("api").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.withDescription("where to serve the HTTP API, or `off` (default: 127.0.0.1, port: --listen's + 10000)"),
    Options.optional
  ),
  workflows: Serve.flags.workflows
}

/** The `node` command. */
export const command = Command.make("node", flags, () =>
  Effect.gen(function*() {
    const node = yield* ClusterNode
    const name = Printer.escape(node.name)
    yield* Console.log(`● node ${name} listening on ${node.listen.host}:${node.listen.port}`)
    if (node.api !== undefined) {
      yield* Console.log(`● node ${name} serves the API on ${node.api} (documentation: ${node.api}/docs)`)
    }
    return yield* Effect.never.pipe(
      // Runs before the node's layer is released (which drains it): tells the operator what is happening.
      Effect.onInterrupt(() =>
        Effect.zipRight(Console.log(`◌ node ${name} draining`), Effect.sync(ExitCode.markStoppedOnRequest))
      )
    )
  })).pipe(Command.withDescription("Run a cluster node: it executes runs and task attempts submitted to the cluster"))
