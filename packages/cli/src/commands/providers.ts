/**
 * `gleitzeit providers`: the methods this installation serves, each provider's health, the LLM endpoints (and
 * their models), the Python sandbox and the MCP servers.
 */
import { Command } from "@effect/cli"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { Client, type Failure, type ProvidersView } from "../Client.js"
import * as Options from "../internal/options.js"
import * as Printer from "../Printer.js"

const healthOf = (view: ProvidersView, provider: string): string => {
  if (provider === "mcp" && view.mcp.length === 0) return "not configured"
  const health = view.health.find((h) => h.provider === provider)?.health
  return health === undefined ? "-" : health.status
}

const detailOf = (view: ProvidersView, provider: string): string | undefined =>
  view.health.find((h) => h.provider === provider)?.health.detail

/** Renders the providers view as tables. */
export const render = (view: ProvidersView): string => {
  const methods = Printer.table(
    ["PROVIDER", "METHOD", "HEALTH", "DESCRIPTION"],
    view.methods.map((m) => [
      Printer.escape(m.provider),
      Printer.escape(m.method) + (m.aliases.length === 0 ? "" : ` (= ${m.aliases.join(", ")})`),
      healthOf(view, m.provider),
      m.description
    ])
  )
  const llmDetail = detailOf(view, "llm")
  const llm = view.llm.endpoints.length === 0
    ? ["LLM endpoints: none (llm/* tasks cannot run; add `llm.endpoints` to gleitzeit.yaml)"]
    : [
      "LLM endpoints:",
      Printer.table(
        ["  NAME", "TYPE", "URL"],
        view.llm.endpoints.map((e) => [`  ${Printer.escape(e.name)}`, e.type, Printer.escape(e.url)])
      ),
      ...(llmDetail === undefined ? [] : [`  models and health: ${Printer.escape(llmDetail)}`])
    ]
  const pythonDetail = detailOf(view, "python")
  const python = `Python sandbox: backend ${view.python.backend}${
    pythonDetail === undefined ? "" : ` (${healthOf(view, "python")}: ${Printer.escape(pythonDetail)})`
  }`
  const mcp = view.mcp.length === 0
    ? ["MCP servers: none configured (add `mcp.servers` to gleitzeit.yaml)"]
    : [
      "MCP servers:",
      Printer.table(
        ["  NAME", "TRANSPORT"],
        view.mcp.map((s) => [`  ${Printer.escape(s.name)}`, Printer.escape(s.transport)])
      )
    ]
  return [methods, "", ...view.llm.notes.map((note) => `note: ${note}`), ...llm, "", python, "", ...mcp].join("\n")
}

/** The `providers` command. */
export const command = Command.make(
  "providers",
  { json: Options.json },
  ({ json }): Effect.Effect<void, Failure, Client> =>
    Effect.gen(function*() {
      const client = yield* Client
      const view = yield* client.providers
      yield* Console.log(json ? JSON.stringify(view, null, 2) : render(view))
    })
).pipe(
  Command.withDescription("List providers, their methods and health, LLM endpoints, the Python sandbox, MCP servers")
)
