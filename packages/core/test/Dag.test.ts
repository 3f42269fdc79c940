import { assert, describe, it } from "@effect/vitest"
import { Dag } from "@gleitzeit/core"

const graph = (edges: Record<string, ReadonlyArray<string>>): Array<Dag.Node> =>
  Object.entries(edges).map(([id, dependencies]) => ({ id, dependencies }))

const rotate = (cycle: ReadonlyArray<string>): string => {
  // Compare cycles independently of their starting node: drop the repeated end, rotate to the smallest id.
  const open = cycle.slice(0, -1)
  const start = open.indexOf([...open].sort()[0]!)
  return [...open.slice(start), ...open.slice(0, start)].join(",")
}

describe("Dag.cycles", () => {
  it("finds no cycle in a DAG", () => {
    assert.deepStrictEqual(Dag.cycles(graph({ a: [], b: ["a"], c: ["a", "b"], d: ["c"] })), [])
  })

  it("names a three-node cycle starting at the first task, with the first repeated at the end", () => {
    assert.deepStrictEqual(Dag.cycles(graph({ a: ["b"], b: ["c"], c: ["a"] })), [["a", "b", "c", "a"]])
  })

  it("reports a self-dependency as a cycle of one", () => {
    assert.deepStrictEqual(Dag.cycles(graph({ a: [], b: ["b"] })), [["b", "b"]])
  })

  it("reports each disjoint cycle once", () => {
    const found = Dag.cycles(graph({ a: ["b"], b: ["a"], c: [], d: ["e"], e: ["f"], f: ["d"], g: ["a", "d"] }))
    assert.deepStrictEqual(found.map(rotate).sort(), ["a,b", "d,e,f"])
  })

  it("returns a real cycle whose edges all exist", () => {
    const edges = { a: ["b"], b: ["c", "x"], c: ["b", "a"], x: [] }
    for (const cycle of Dag.cycles(graph(edges))) {
      assert.strictEqual(cycle[0], cycle[cycle.length - 1])
      for (let i = 0; i + 1 < cycle.length; i++) {
        assert.include(edges[cycle[i] as keyof typeof edges], cycle[i + 1]!)
      }
    }
    assert.strictEqual(Dag.cycles(graph(edges)).length, 1)
  })

  it("ignores edges to unknown nodes", () => {
    assert.deepStrictEqual(Dag.cycles(graph({ a: ["missing"], b: ["a", "other"] })), [])
  })

  it("handles a chain of 20 000 nodes without overflowing the stack", () => {
    const nodes: Array<Dag.Node> = []
    for (let i = 0; i < 20_000; i++) nodes.push({ id: `n${i}`, dependencies: i === 0 ? [] : [`n${i - 1}`] })
    assert.deepStrictEqual(Dag.cycles(nodes), [])
    nodes[0] = { id: "n0", dependencies: ["n19999"] }
    const found = Dag.cycles(nodes)
    assert.strictEqual(found.length, 1)
    assert.strictEqual(found[0]!.length, 20_001)
  })
})

describe("Dag.topologicalOrder", () => {
  it("puts every dependency before its dependents", () => {
    const nodes = graph({ report: ["summary", "stats"], summary: ["fetch"], stats: ["fetch"], fetch: [] })
    const order = Dag.topologicalOrder(nodes)!
    assert.strictEqual(order.length, 4)
    for (const node of nodes) {
      for (const dep of node.dependencies) assert.isBelow(order.indexOf(dep), order.indexOf(node.id))
    }
  })

  it("keeps independent nodes in input order", () => {
    assert.deepStrictEqual(Dag.topologicalOrder(graph({ c: [], a: [], b: [] })), ["c", "a", "b"])
    assert.deepStrictEqual(Dag.topologicalOrder(graph({ late: ["early"], x: [], early: [] })), ["x", "early", "late"])
  })

  it("is undefined when the graph has a cycle, including a self-dependency", () => {
    assert.isUndefined(Dag.topologicalOrder(graph({ a: ["c"], b: ["a"], c: ["b"], d: [] })))
    assert.isUndefined(Dag.topologicalOrder(graph({ a: ["a"] })))
  })

  it("ignores unknown and repeated dependencies", () => {
    assert.deepStrictEqual(Dag.topologicalOrder(graph({ b: ["a", "a", "ghost"], a: [] })), ["a", "b"])
  })

  it("orders an empty graph as empty", () => {
    assert.deepStrictEqual(Dag.topologicalOrder([]), [])
  })

  it("orders a chain of 20 000 nodes given in reverse", () => {
    const nodes: Array<Dag.Node> = []
    for (let i = 19_999; i >= 0; i--) nodes.push({ id: `n${i}`, dependencies: i === 0 ? [] : [`n${i - 1}`] })
    const order = Dag.topologicalOrder(nodes)!
    assert.strictEqual(order[0], "n0")
    assert.strictEqual(order[19_999], "n19999")
  })
})
