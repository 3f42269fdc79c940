/**
 * The command line before the option parser sees it: `--config FILE` may appear anywhere (the parser wants global
 * options before the subcommand), and whether help was asked for.
 */

/** The command line with every `--config` moved right after the program, and what was found. */
export interface Normalized {
  /** `[node, script, --config, FILE, ...rest]`. */
  readonly argv: ReadonlyArray<string>
  /** The subcommand named, if any (the first argument that is not an option or an option's value). */
  readonly subcommand: string | undefined
  /** `-h` or `--help` was given (before a `--`). */
  readonly help: boolean
}

/** Options of the root command that take a value (so their value is not taken for the subcommand). */
const valued = new Set(["--config", "--log-level", "--completions"])

/** Moves `--config FILE` / `--config=FILE` in front of the subcommand, wherever it was given. */
export const normalize = (argv: ReadonlyArray<string>, subcommands: ReadonlySet<string>): Normalized => {
  const [node = "node", script = "gleitzeit", ...rest] = argv
  const config: Array<string> = []
  const others: Array<string> = []
  let help = false
  let subcommand: string | undefined
  let afterDashes = false
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (afterDashes) {
      others.push(arg)
      continue
    }
    if (arg === "--") {
      afterDashes = true
      others.push(arg)
    } else if (arg === "--config" && i + 1 < rest.length) {
      config.push(arg, rest[++i]!)
    } else if (arg.startsWith("--config=")) {
      config.push("--config", arg.slice("--config=".length))
    } else {
      if (arg === "-h" || arg === "--help") help = true
      if (subcommand === undefined && !arg.startsWith("-") && !valued.has(rest[i - 1] ?? "") && subcommands.has(arg)) {
        subcommand = arg
      }
      others.push(arg)
    }
  }
  return { argv: [node, script, ...config, ...others], subcommand, help }
}
