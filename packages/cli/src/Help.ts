/**
 * Help pages: `gleitzeit --help` and `gleitzeit COMMAND --help`. Usage lines name the program
 * (`gleitzeit run [--json] <file>`), every option says what it does and its default, and only the CLI's own options
 * are listed. ANSI styling is removed by the output when it is not a terminal.
 */
import { CliConfig, Command, CommandDescriptor, HelpDoc, Usage } from "@effect/cli"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Arr from "effect/Array"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Printer from "./Printer.js"

/** The names of a command tree's subcommands. */
export const subcommandNames = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>
): ReadonlySet<string> => new Set(HashMap.keys(Command.getSubcommands(command)))

const config = CliConfig.make({ showBuiltIns: false })

const textOf = (span: Span.Span): string => Printer.stripAnsi(HelpDoc.toAnsiText(HelpDoc.p(span))).trim()

/** What the option parser says of every option of a kind; the CLI's own descriptions say more. */
const generic =
  /^(A true or false value|This setting is optional|An? (existing )?(file|directory|path)|An integer|A user-defined piece of text|A floating point number|A date)\.$/

/** The help document without the parser's generic sentences. */
const prune = (doc: HelpDoc.HelpDoc): HelpDoc.HelpDoc => {
  switch (doc._tag) {
    case "Paragraph":
      return generic.test(textOf(doc.value)) ? HelpDoc.empty : doc
    case "Sequence":
      return HelpDoc.sequence(prune(doc.left), prune(doc.right))
    case "DescriptionList":
      return HelpDoc.descriptionList(Arr.map(doc.definitions, ([span, definition]): [Span.Span, HelpDoc.HelpDoc] => [
        span,
        prune(definition)
      ]))
    default:
      return doc
  }
}

const usageLines = (prefix: string, usage: Usage.Usage): string =>
  Usage.enumerate(usage, config)
    .map((span) => `  ${prefix}${HelpDoc.toAnsiText(HelpDoc.p(span)).trim()}`)
    .join("\n")

/** A text's paragraphs in document order. */
const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> => {
  switch (doc._tag) {
    case "Paragraph":
      return [textOf(doc.value)]
    case "Header":
      return [`# ${textOf(doc.value)}`]
    case "Sequence":
      return [...paragraphs(doc.left), ...paragraphs(doc.right)]
    default:
      return []
  }
}

/** The one-line description of a subcommand (the paragraph after its DESCRIPTION header). */
const descriptionOf = (descriptor: CommandDescriptor.Command<unknown>): string => {
  const parts = paragraphs(CommandDescriptor.getHelp(descriptor, config))
  const at = parts.indexOf("# DESCRIPTION")
  return at < 0 ? "" : parts[at + 1] ?? ""
}

/** Prints the help page of the program or of one of its subcommands. */
export const print = <Name extends string, R, E, A>(
  command: Command.Command<Name, R, E, A>,
  options: {
    readonly name: string
    readonly version: string
    readonly subcommand: string | undefined
    /** The order the commands are listed in (others follow). */
    readonly order: ReadonlyArray<string>
  }
) =>
  Effect.suspend(() => {
    const rank = (name: string) => {
      const at = options.order.indexOf(name)
      return at < 0 ? options.order.length : at
    }
    const sub = options.subcommand === undefined
      ? Option.none()
      : HashMap.get(Command.getSubcommands(command), options.subcommand)
    const page = Option.match(sub, {
      onNone: () => [
        `${options.name} ${options.version} — durable workflows of LLM calls, sandboxed Python, MCP tools and HTTP calls`,
        "",
        "USAGE",
        `  ${options.name} [--config FILE] COMMAND [ARGUMENTS] [OPTIONS]`,
        "",
        "COMMANDS",
        ...[...HashMap.entries(Command.getSubcommands(command))].sort(([a], [b]) => rank(a) - rank(b)).flatMap((
          [, descriptor]
        ) => [
          usageLines(`${options.name} `, CommandDescriptor.getUsage(descriptor)),
          `      ${descriptionOf(descriptor)}`
        ]),
        "",
        "GLOBAL OPTIONS",
        "  --config FILE   the configuration file (default: ./gleitzeit.yaml when present); accepted anywhere",
        "  --help, -h      this page, or a command's (`gleitzeit run --help`)",
        "  --version       the version",
        "",
        "EXIT STATUS",
        "  0 completed / valid · 1 a run failed, was cancelled or timed out · 2 invalid input or usage ·",
        "  3 unknown run or operation its state does not allow · 69 a service is unreachable · 70 internal error ·",
        "  130 interrupted (Ctrl-C cancels the run)"
      ],
      onSome: (descriptor) => [
        `${options.name} ${options.version}`,
        "",
        "USAGE",
        usageLines(`${options.name} `, CommandDescriptor.getUsage(descriptor)),
        "",
        HelpDoc.toAnsiText(prune(CommandDescriptor.getHelp(descriptor, config))).trim(),
        "",
        "GLOBAL OPTIONS",
        "  --config FILE   the configuration file (default: ./gleitzeit.yaml when present); accepted anywhere"
      ]
    })
    return Console.log(page.join("\n"))
  })
