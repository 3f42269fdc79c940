/**
 * Dependency graphs of tasks: cycle detection (naming each cycle) and topological order.
 */

/** A node and the nodes it depends on. */
export interface Node {
  readonly id: string
  readonly dependencies: ReadonlyArray<string>
}

/**
 * Every cycle of the graph, each as the list of ids along it with the first repeated at the end
 * (e.g. `["a", "b", "a"]`). Edges to unknown nodes are ignored. Uses Tarjan's strongly connected components,
 * then walks one cycle inside each component.
 */
export const cycles = (nodes: ReadonlyArray<Node>): Array<Array<string>> => {
  const deps = new Map<string, ReadonlyArray<string>>()
  for (const node of nodes) deps.set(node.id, node.dependencies)
  // Edges to known nodes only, computed once per node: the walk below visits a node's edges one at a time.
  const edgesOf = new Map<string, ReadonlyArray<string>>()
  for (const [id, list] of deps) edgesOf.set(id, list.filter((d) => deps.has(d)))
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: Array<string> = []
  const components: Array<Array<string>> = []
  let counter = 0

  // Iterative Tarjan to survive deep graphs.
  for (const root of deps.keys()) {
    if (index.has(root)) continue
    const work: Array<{ id: string; next: number }> = [{ id: root, next: 0 }]
    index.set(root, counter)
    low.set(root, counter++)
    stack.push(root)
    onStack.add(root)
    while (work.length > 0) {
      const frame = work[work.length - 1]!
      const edges = edgesOf.get(frame.id)!
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!
        if (!index.has(to)) {
          index.set(to, counter)
          low.set(to, counter++)
          stack.push(to)
          onStack.add(to)
          work.push({ id: to, next: 0 })
        } else if (onStack.has(to)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(to)!))
        }
      } else {
        work.pop()
        if (work.length > 0) {
          const parent = work[work.length - 1]!.id
          low.set(parent, Math.min(low.get(parent)!, low.get(frame.id)!))
        }
        if (low.get(frame.id) === index.get(frame.id)) {
          const component: Array<string> = []
          let member: string
          do {
            member = stack.pop()!
            onStack.delete(member)
            component.push(member)
          } while (member !== frame.id)
          const selfLoop = component.length === 1 && (deps.get(frame.id) ?? []).includes(frame.id)
          if (component.length > 1 || selfLoop) components.push(component)
        }
      }
    }
  }

  const position = new Map<string, number>()
  nodes.forEach((n, i) => {
    if (!position.has(n.id)) position.set(n.id, i)
  })
  return components.map((component) => {
    const members = new Set(component)
    // The cycle starts at the member that comes first in the input.
    let start = component[0]!
    for (const id of component) if (position.get(id)! < position.get(start)!) start = id
    const path = [start]
    const seen = new Set([start])
    let current = start
    for (;;) {
      const next = edgesOf.get(current)!.find((d) => members.has(d))!
      path.push(next)
      if (seen.has(next)) return path.slice(path.indexOf(next))
      seen.add(next)
      current = next
    }
  })
}

/** A topological order (dependencies first, ties in input order), or undefined when the graph has a cycle. */
export const topologicalOrder = (nodes: ReadonlyArray<Node>): Array<string> | undefined => {
  const known = new Set(nodes.map((n) => n.id))
  const remaining = new Map<string, number>()
  const dependents = new Map<string, Array<string>>()
  for (const node of nodes) {
    const unique = new Set(node.dependencies.filter((d) => known.has(d)))
    remaining.set(node.id, unique.size)
    for (const dep of unique) {
      const list = dependents.get(dep)
      if (list === undefined) dependents.set(dep, [node.id])
      else list.push(node.id)
    }
  }
  const order: Array<string> = []
  const queue = nodes.filter((n) => remaining.get(n.id) === 0).map((n) => n.id)
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!
    order.push(id)
    for (const dependent of dependents.get(id) ?? []) {
      const left = remaining.get(dependent)! - 1
      remaining.set(dependent, left)
      if (left === 0) queue.push(dependent)
    }
  }
  return order.length === nodes.length ? order : undefined
}
