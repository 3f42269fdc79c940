/**
 * Protocols as data: each method's name, params schema and result schema. Providers attach implementations to
 * these specs elsewhere; the set of methods a provider supports is derived from its spec, never hand-kept.
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { Json } from "./Json.js"

/** A method of a protocol. */
export interface MethodSpec {
  /** Full method name, e.g. `http/request`. */
  readonly name: string
  /** Protocol id, e.g. `http/v1`. */
  readonly protocol: string
  /** Other names that mean this method (e.g. `llm/generate` for `llm/complete`). */
  readonly aliases?: ReadonlyArray<string>
  /** One line for `gleitzeit providers` and errors. */
  readonly description: string
  /** Schema of the params, from their JSON form. */
  readonly params: Schema.Schema.AnyNoContext
  /** Schema of the result, from its JSON form (checked on the way out of a provider). */
  readonly result?: Schema.Schema.AnyNoContext
  /** True when calling the method twice with the same params has no additional effect. */
  readonly idempotent?: boolean
  /**
   * Top-level params that name a file or directory on the host (a string, or a list of strings): every one goes
   * through the path policy (configured roots, no `..`, no hidden names), at load time and again when it is read.
   */
  readonly hostPaths?: ReadonlyArray<string>
  /** Top-level params whose text is Python source: values substituted into them are written as Python literals. */
  readonly pythonSource?: ReadonlyArray<string>
}

/** A protocol: an id and its methods. */
export interface ProtocolSpec {
  /** e.g. `llm/v1`. */
  readonly id: string
  /** The methods. */
  readonly methods: ReadonlyArray<MethodSpec>
}

/** Defines a method (a typed constructor for MethodSpec). */
export const method = (spec: MethodSpec): MethodSpec => spec

/** Defines a protocol. */
export const make = (id: string, methods: ReadonlyArray<MethodSpec>): ProtocolSpec => ({ id, methods })

/** The protocol id a method belongs to by convention: `llm/chat` → `llm/v1`. */
export const protocolOf = (methodName: string): string => {
  const slash = methodName.indexOf("/")
  return `${slash < 0 ? methodName : methodName.slice(0, slash)}/v1`
}

/** A lookup from method names (and aliases) to specs. */
export interface Catalog {
  /** The spec of a method or alias. */
  readonly lookup: (method: string) => MethodSpec | undefined
  /** All methods, without aliases. */
  readonly methods: ReadonlyArray<MethodSpec>
}

/** Builds a catalog from protocol specs; later specs win on name clashes. */
export const catalog = (protocols: ReadonlyArray<ProtocolSpec>): Catalog => {
  const byName = new Map<string, MethodSpec>()
  for (const protocol of protocols) {
    for (const m of protocol.methods) {
      byName.set(m.name, m)
      for (const alias of m.aliases ?? []) byName.set(alias, m)
    }
  }
  const methods = [...new Set(byName.values())]
  return { lookup: (name) => byName.get(name), methods }
}

/** One schema violation inside params. */
export interface ParamIssue {
  /** Path inside the params. */
  readonly path: ReadonlyArray<PropertyKey>
  /** What is wrong. */
  readonly message: string
}

/** Checks params against a method's schema, reporting every issue with its path. */
export const checkParams = (spec: MethodSpec, params: Json): Either.Either<unknown, ReadonlyArray<ParamIssue>> => {
  const decoded = Schema.decodeUnknownEither(spec.params, { errors: "all", onExcessProperty: "ignore" })(params)
  if (Either.isRight(decoded)) return Either.right(decoded.right)
  const issues = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
  return Either.left(mergeAlternatives(issues.map((issue) => ({ path: issue.path, message: issue.message }))))
}

const expectedActual = /^Expected (.+), actual (.+)$/s

/**
 * The formatter reports a union's failure once per member (and `Expected undefined` for optional keys); this
 * merges the issues of one path into one, e.g. `Expected "GET" | "POST", actual "FETCH"`.
 */
const mergeAlternatives = (issues: ReadonlyArray<ParamIssue>): Array<ParamIssue> => {
  const groups = new Map<string, Array<ParamIssue>>()
  for (const issue of issues) {
    const key = JSON.stringify(issue.path.map(String))
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [issue])
    else group.push(issue)
  }
  return [...groups.values()].map((group) => {
    if (group.length === 1) return group[0]!
    const kept = group.filter((issue) => !issue.message.startsWith("Expected undefined,"))
    const alternatives = kept.length > 0 ? kept : group
    const matches = alternatives.map((issue) => expectedActual.exec(issue.message))
    const message = matches.every((m) => m !== null)
      ? `Expected ${[...new Set(matches.map((m) => m![1]))].join(" | ")}, actual ${matches[0]![2]}`
      : [...new Set(alternatives.map((issue) => issue.message))].join("; ")
    return { path: group[0]!.path, message }
  })
}

/** Renders param issues as one line each. */
export const renderIssues = (issues: ReadonlyArray<ParamIssue>): string =>
  issues.map((i) => (i.path.length === 0 ? i.message : `${i.path.map(String).join(".")}: ${i.message}`)).join("; ")
