/**
 * A bounded pre-scan of YAML/JSON text, run before the document is built: how deeply it nests and where its first
 * alias is. Building a document recurses once per level of nesting, so a 100 KB file nested 50,000 deep would
 * exhaust the stack or the heap; the YAML lexer does not recurse, so this scan is safe on any input and stops at the
 * first node past the limit.
 */
import { CST, Lexer } from "yaml"

/** Where a node is, 1-based. */
export interface Position {
  readonly line: number
  readonly column: number
}

/** What the scan found. */
export type Scan =
  | { readonly _tag: "TooDeep"; readonly at: Position; readonly limit: number }
  | { readonly _tag: "Fine"; readonly firstAlias: Position | undefined }

const blockIndicators = new Set(["seq-item-ind", "explicit-key-ind"])
const nodeStarts = new Set([
  "scalar",
  "single-quoted-scalar",
  "double-quoted-scalar",
  "block-scalar-header",
  "flow-map-start",
  "flow-seq-start",
  "alias",
  "anchor",
  "tag"
])

/**
 * Scans `text` for nesting deeper than `limit`. Flow collections (`[`, `{`) are counted exactly; block collections
 * by the columns their nodes start at (a node starting left of or at an open one's column closes it).
 */
export const scan = (text: string, limit: number): Scan => {
  const blocks: Array<number> = []
  let flow = 0
  let line = 1
  let column = 0
  // True at the start of a line and after `- ` / `? `: the next content token starts a node.
  let nodeStart = true
  let firstAlias: Position | undefined
  for (const token of new Lexer().lex(text)) {
    const type = CST.tokenType(token)
    // Control tokens take no room in the source; the scalar marker announces a scalar (counted as its start).
    if (token.length === 1 && token.charCodeAt(0) < 0x20 && token !== "\n" && token !== "\t" && token !== CST.SCALAR) {
      continue
    }
    if (type === "newline") {
      line++
      column = 0
      nodeStart = true
      continue
    }
    const at = { line, column: column + 1 }
    if (type === "flow-map-start" || type === "flow-seq-start") {
      flow++
      // A flow collection starting a line closes the block nodes at or right of its column.
      if (flow === 1 && nodeStart) { while (blocks.length > 0 && blocks[blocks.length - 1]! >= column) blocks.pop() }
      if (blocks.length + flow > limit) return { _tag: "TooDeep", at, limit }
      nodeStart = false
    } else if (type === "flow-map-end" || type === "flow-seq-end") {
      flow = Math.max(0, flow - 1)
    } else if (flow === 0 && (blockIndicators.has(type ?? "") || (nodeStart && nodeStarts.has(type ?? "")))) {
      while (blocks.length > 0 && blocks[blocks.length - 1]! >= column) blocks.pop()
      blocks.push(column)
      if (blocks.length > limit) return { _tag: "TooDeep", at, limit }
      nodeStart = blockIndicators.has(type ?? "")
    } else if (type !== "space" && type !== "comment" && token !== CST.SCALAR) {
      nodeStart = false
    }
    if (type === "alias" && firstAlias === undefined) firstAlias = at
    if (token === CST.SCALAR) continue
    const newline = token.lastIndexOf("\n")
    if (newline < 0) column += token.length
    else {
      for (let i = 0; i < token.length; i++) if (token.charCodeAt(i) === 10) line++
      column = token.length - newline - 1
    }
  }
  return { _tag: "Fine", firstAlias }
}
