/**
 * What a workflow's own `providers:` block may do. A workflow is untrusted input: it selects and tunes what the
 * operator's configuration declares (LLM endpoints and MCP servers by name or URL, the balancing strategy,
 * timeouts), adds an LLM endpoint or a remote MCP server only where the configuration grants that URL, and never
 * starts a process or replaces a configured server. This is the one place that decides it: the CLI applies it to the
 * workflow file it runs, the HTTP API per key scope.
 */
import * as Config from "effect/Config"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Hub from "./Hub.js"
import type * as LlmConfig from "./LlmConfig.js"
import * as McpConfig from "./McpConfig.js"

/** What the operator lets workflows add, as URL patterns (`*` matches within one host, port or path segment). */
export interface Grants {
  /** LLM endpoints a workflow may add, e.g. `http://127.0.0.1:*`. */
  readonly llmEndpoints: ReadonlyArray<string>
  /** Streamable-HTTP MCP servers a workflow may add, e.g. `https://tools.example.com/*`. */
  readonly mcpServers: ReadonlyArray<string>
}

/** No additions: a workflow may only select and tune what the configuration declares. */
export const noGrants: Grants = { llmEndpoints: [], mcpServers: [] }

/** What the operator's configuration declares. */
export interface Configured {
  readonly llm: Context.Tag.Service<LlmConfig.LlmConfig>
  readonly mcp: ReadonlyArray<McpConfig.Server>
}

/** A path into the workflow document, e.g. `["providers", "mcp", "servers", "evil", "command"]`. */
export type Path = ReadonlyArray<string | number>

/** A finding about the block, at its path. */
export interface Finding {
  readonly path: Path
  readonly message: string
}

/** The providers a workflow runs with, and what was said about its block. */
export interface Decision {
  /** The LLM settings: the configured ones, narrowed, tuned or extended as the block asks and the grants allow. */
  readonly llm: Context.Tag.Service<LlmConfig.LlmConfig>
  /** The MCP servers: the configured ones (tuned), plus granted remote servers. */
  readonly mcp: ReadonlyArray<McpConfig.Server>
  /** What the block may not do: the workflow must not run. */
  readonly refusals: ReadonlyArray<Finding>
  /** What was ignored. */
  readonly warnings: ReadonlyArray<Finding>
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined)
const num = (
  value: unknown
): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined)
const strings = (value: unknown): ReadonlyArray<string> | undefined =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : undefined

/** A URL in a comparable form: scheme and host lowercased, `localhost` as 127.0.0.1, no trailing slash. */
export const normalizeUrl = (raw: string): string => {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`
  try {
    const url = new URL(withScheme)
    if (url.hostname === "localhost") url.hostname = "127.0.0.1"
    return url.toString().replace(/\/+$/, "")
  } catch {
    return withScheme.replace(/\/+$/, "")
  }
}

/** True when a URL matches one of the granted patterns (after normalizing both). */
export const granted = (patterns: ReadonlyArray<string>, url: string): boolean => {
  const target = normalizeUrl(url)
  return patterns.some((pattern) => {
    const normalized = normalizeUrl(pattern.replace(/\*/g, "__star__")).replace(/__star__/g, "*")
    const source = normalized.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")
    return new RegExp(`^${source}(/.*)?$`).test(target)
  })
}

const llmKinds = new Set(["ollama", "openai", "llm"])
const llmPoolKeys = new Set(["instances", "endpoints", "url", "load_balancing", "load_balancing_strategy", "strategy"])
const llmInstanceKeys = new Set([
  "id",
  "name",
  "url",
  "host",
  "base_url",
  "type",
  "models",
  "weight",
  "priority",
  "tags",
  "max_concurrent",
  "max_in_flight"
])
const strategies: ReadonlyArray<string> = Hub.Strategy.literals
const mcpTuning = new Set(["connect_timeout", "request_timeout", "retry_destructive"])

/**
 * Decides what a workflow's `providers` block (the document's `providers` value, absent or not) does to the
 * configured providers under the given grants.
 */
export const decide = (block: unknown, configured: Configured, grants: Grants): Decision => {
  const refusals: Array<Finding> = []
  const warnings: Array<Finding> = []
  if (block === undefined || block === null) return { llm: configured.llm, mcp: configured.mcp, refusals, warnings }
  if (!isRecord(block)) {
    refusals.push({ path: ["providers"], message: "must be a mapping (e.g. `ollama:` or `mcp:`)" })
    return { llm: configured.llm, mcp: configured.mcp, refusals, warnings }
  }
  const llm = decideLlm(block, configured.llm, grants, refusals, warnings)
  const mcp = decideMcp(block["mcp"], configured.mcp, grants, refusals, warnings)
  for (const key of Object.keys(block)) {
    if (!llmKinds.has(key) && key !== "mcp") {
      warnings.push({
        path: ["providers", key],
        message: `unknown provider kind '${key}' ignored (known: ollama, openai, llm, mcp)`
      })
    }
  }
  return { llm, mcp, refusals, warnings }
}

const decideLlm = (
  block: Record<string, unknown>,
  configured: Context.Tag.Service<LlmConfig.LlmConfig>,
  grants: Grants,
  refusals: Array<Finding>,
  warnings: Array<Finding>
): Context.Tag.Service<LlmConfig.LlmConfig> => {
  let strategy = configured.strategy
  // Endpoints the block names (selected, possibly tuned) and those it adds; none named keeps every configured one.
  const selected = new Map<string, LlmConfig.Endpoint>()
  const added: Array<LlmConfig.Endpoint> = []
  let named = false
  for (const [kind, pool] of Object.entries(block)) {
    if (!llmKinds.has(kind)) continue
    const at: Path = ["providers", kind]
    if (!isRecord(pool)) {
      refusals.push({ path: at, message: "must be a mapping with `instances` (or `endpoints`) and a strategy" })
      continue
    }
    for (const key of Object.keys(pool)) {
      if (!llmPoolKeys.has(key)) warnings.push({ path: [...at, key], message: `unknown key '${key}' ignored` })
    }
    const balancing = isRecord(pool["load_balancing"]) ? pool["load_balancing"] : undefined
    const wanted = str(balancing?.["strategy"]) ?? str(pool["load_balancing_strategy"]) ?? str(pool["strategy"])
    if (wanted !== undefined) {
      if (strategies.includes(wanted)) strategy = wanted as Hub.Strategy
      else {
        warnings.push({
          path: [...at, balancing !== undefined ? "load_balancing" : "strategy"],
          message: `unknown load-balancing strategy '${wanted}' ignored (known: ${strategies.join(", ")})`
        })
      }
    }
    const listKey = pool["instances"] !== undefined ? "instances" : "endpoints"
    const list = pool[listKey]
    const instances: ReadonlyArray<readonly [unknown, Path]> = Array.isArray(list)
      ? list.map((item, i) => [item, [...at, listKey, i]] as const)
      : str(pool["url"]) !== undefined
      ? [[pool, at] as const]
      : []
    if (list !== undefined && !Array.isArray(list)) {
      refusals.push({ path: [...at, listKey], message: "must be a list of endpoints" })
    }
    for (const [raw, path] of instances) {
      if (!isRecord(raw)) {
        refusals.push({ path, message: "an endpoint must be a mapping with a `url` or the `id` of a configured one" })
        continue
      }
      if (path !== at) {
        for (const key of Object.keys(raw)) {
          if (!llmInstanceKeys.has(key)) {
            warnings.push({ path: [...path, key], message: `unknown key '${key}' ignored` })
          }
        }
      }
      named = true
      const name = str(raw["id"]) ?? str(raw["name"])
      const url = str(raw["url"]) ?? str(raw["host"]) ?? str(raw["base_url"])
      const match = configured.endpoints.find((e) =>
        (name !== undefined && e.name === name) || (url !== undefined && normalizeUrl(e.url) === normalizeUrl(url))
      )
      const tuning = tune(raw)
      if (match !== undefined) {
        if (url !== undefined && normalizeUrl(match.url) !== normalizeUrl(url)) {
          refusals.push({
            path: [...path, "url"],
            message: `endpoint '${match.name}' is configured at ${match.url}; a workflow cannot point it elsewhere`
          })
          continue
        }
        selected.set(match.name, { ...(selected.get(match.name) ?? match), ...tuning })
        continue
      }
      if (url === undefined) {
        refusals.push({
          path,
          message: `names no configured LLM endpoint${name === undefined ? "" : ` ('${name}')`} and gives no url` +
            (configured.endpoints.length === 0
              ? ""
              : ` (configured: ${configured.endpoints.map((e) => e.name).join(", ")})`)
        })
        continue
      }
      if (!granted(grants.llmEndpoints, url)) {
        refusals.push({
          path: [...path, "url"],
          message: `adds the LLM endpoint ${url}, which the configuration does not declare: declare it under ` +
            "`llm.endpoints` in gleitzeit.yaml, or let workflows add it with `grants.llm_endpoints`"
        })
        continue
      }
      const type = str(raw["type"]) === "openai" || kind === "openai" ? "openai" : "ollama"
      added.push({
        name: name ?? `${kind}-${added.length + 1}`,
        type,
        url: /^https?:\/\//.test(url) ? url : `http://${url}`,
        weight: 1,
        priority: 0,
        tags: [],
        ...tuning
      })
    }
  }
  const endpoints = named ? [...selected.values(), ...added] : configured.endpoints
  return { ...configured, strategy, endpoints }
}

/** What a workflow may tune on an endpoint: its share, tier, labels, models and calls in flight. */
const tune = (raw: Record<string, unknown>): Partial<LlmConfig.Endpoint> => {
  const models = strings(raw["models"])
  const maxInFlight = num(raw["max_concurrent"]) ?? num(raw["max_in_flight"])
  const weight = num(raw["weight"])
  const priority = num(raw["priority"])
  const tags = strings(raw["tags"])
  return {
    ...(models === undefined ? {} : { models }),
    ...(maxInFlight === undefined ? {} : { maxInFlight }),
    ...(weight === undefined ? {} : { weight }),
    ...(priority === undefined ? {} : { priority }),
    ...(tags === undefined ? {} : { tags })
  }
}

const decideMcp = (
  block: unknown,
  configured: ReadonlyArray<McpConfig.Server>,
  grants: Grants,
  refusals: Array<Finding>,
  warnings: Array<Finding>
): ReadonlyArray<McpConfig.Server> => {
  if (block === undefined || block === null) return configured
  const at: Path = ["providers", "mcp"]
  if (!isRecord(block)) {
    refusals.push({ path: at, message: "must be a mapping with `servers`" })
    return configured
  }
  for (const key of Object.keys(block)) {
    if (key !== "servers") warnings.push({ path: [...at, key], message: `unknown key '${key}' ignored` })
  }
  const servers = block["servers"]
  if (servers === undefined || servers === null) return configured
  if (!isRecord(servers)) {
    refusals.push({ path: [...at, "servers"], message: "must be a mapping of server names to servers" })
    return configured
  }
  const result = new Map(configured.map((s) => [s.name, s]))
  for (const [name, raw] of Object.entries(servers)) {
    const path: Path = [...at, "servers", name]
    if (!isRecord(raw)) {
      refusals.push({ path, message: "a server must be a mapping" })
      continue
    }
    if ("command" in raw) {
      refusals.push({
        path: [...path, "command"],
        message: "a workflow cannot start processes: an operator declares stdio MCP servers under `mcp.servers` in " +
          "gleitzeit.yaml, and the workflow calls their tools"
      })
      continue
    }
    const existing = result.get(name)
    const tuning = Object.fromEntries(Object.entries(raw).filter(([key]) => mcpTuning.has(key)))
    if (existing !== undefined) {
      if ("url" in raw || "headers" in raw) {
        refusals.push({
          path: [...path, "url" in raw ? "url" : "headers"],
          message:
            `'${name}' is a configured MCP server; a workflow cannot replace it (choose another name, or leave ` +
            "out `url` and `headers` to only tune it)"
        })
        continue
      }
      for (const key of Object.keys(raw)) {
        if (!mcpTuning.has(key)) warnings.push({ path: [...path, key], message: `unknown key '${key}' ignored` })
      }
      result.set(name, retune(existing, tuning))
      continue
    }
    const url = str(raw["url"])
    if (url === undefined) {
      refusals.push({ path, message: `names no configured MCP server and gives no url` })
      continue
    }
    if (!granted(grants.mcpServers, url)) {
      refusals.push({
        path: [...path, "url"],
        message: `adds the MCP server ${url}, which the configuration does not declare: declare it under ` +
          "`mcp.servers` in gleitzeit.yaml, or let workflows add it with `grants.mcp_servers`"
      })
      continue
    }
    const decoded = McpConfig.decodeServer(name, raw)
    if (decoded._tag === "Left") {
      refusals.push({ path, message: decoded.left })
      continue
    }
    result.set(name, decoded.right)
  }
  return [...result.values()]
}

const retune = (server: McpConfig.Server, tuning: Record<string, unknown>): McpConfig.Server => {
  const connect = num(tuning["connect_timeout"])
  const request = num(tuning["request_timeout"])
  const retry = tuning["retry_destructive"]
  return {
    ...server,
    ...(connect === undefined || connect <= 0 ? {} : { connectTimeout: Duration.seconds(connect) }),
    ...(request === undefined || request <= 0 ? {} : { requestTimeout: Duration.seconds(request) }),
    ...(typeof retry === "boolean" ? { retryDestructive: retry } : {})
  }
}

/** The `grants` section of the configuration: `llm_endpoints` and `mcp_servers`, URL patterns, none by default. */
export const config: Config.Config<Grants> = Config.all({
  llmEndpoints: Config.array(Config.string(), "llm_endpoints").pipe(
    Config.withDefault([]),
    Config.withDescription(
      "URL patterns of LLM endpoints a workflow's providers block may add (e.g. http://127.0.0.1:*)"
    )
  ),
  mcpServers: Config.array(Config.string(), "mcp_servers").pipe(
    Config.withDefault([]),
    Config.withDescription("URL patterns of HTTP MCP servers a workflow's providers block may add")
  )
})
