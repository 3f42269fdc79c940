/**
 * Starter workflows written by `gleitzeit init`.
 */

/** The kinds of starter workflow. */
export const kinds = ["basic", "http", "llm", "python", "mixed"] as const

/** A kind of starter workflow. */
export type Kind = typeof kinds[number]

/** The YAML of a starter workflow. */
export const render = (name: string, kind: Kind): string => {
  const header = `# ${name} — a Gleitzeit workflow. Run it with: gleitzeit run ${name}.yaml\nname: ${
    JSON.stringify(name)
  }\n`
  switch (kind) {
    case "basic":
      return `${header}description: Adds and multiplies with the built-in tools, passing results by reference
tasks:
  - id: sum
    method: mcp/tool.add
    params: { a: 2, b: 3 }
  - id: product
    method: mcp/tool.multiply
    params: { a: "\${sum.result}", b: 4 }
  - id: report
    method: mcp/tool.concat
    params:
      strings: ["2 + 3 = ", "\${sum.response}", ", times 4 = ", "\${product.response}"]
outputs:
  product: "\${product.result}"
  report: "\${report.response}"
`
    case "http":
      return `${header}description: Fetches a JSON document and echoes one field
tasks:
  - id: fetch
    method: http/request
    params:
      url: http://127.0.0.1:8080/health
      timeout: 10
    retry: { max_attempts: 3, backoff: exponential, base_delay: 1 }
  - id: show
    method: mcp/tool.echo
    params: { message: "status \${fetch.status}: \${fetch.body}" }
`
    case "llm":
      return `${header}description: Asks a model, then summarizes its answer
tasks:
  - id: ask
    method: llm/chat
    params:
      model: llama3.2
      messages: [{ role: user, content: "Name three rivers in Europe." }]
  - id: summarize
    method: llm/chat
    params:
      model: llama3.2
      messages: [{ role: user, content: "Summarize in one line: \${ask.response}" }]
`
    case "python":
      return `${header}description: Runs sandboxed Python that sees a context dict and sets result
tasks:
  - id: compute
    method: python/execute
    params:
      code: |
        result = sum(context["numbers"])
      context: { numbers: [1, 2, 3] }
`
    case "mixed":
      return `${header}description: Python computes, a tool formats, a model comments
tasks:
  - id: compute
    method: python/execute
    params:
      code: "result = {'total': sum(context['numbers'])}"
      context: { numbers: [4, 5, 6] }
  - id: format
    method: mcp/tool.concat
    params: { strings: ["total=", "\${compute.result.total}"] }
  - id: comment
    method: llm/complete
    params:
      model: llama3.2
      prompt: "Comment briefly on: \${format.response}"
`
  }
}
