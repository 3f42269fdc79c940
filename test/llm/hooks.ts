/**
 * Test hooks of the LLM test server: request statistics and injected faults (see `protocol.ts`).
 */
import type { AbortRecord, FaultSpec, Stats } from "./protocol.js"

interface ActiveFault {
  readonly id: number
  readonly spec: FaultSpec
  remaining: number
}

/** Mutable counters and the fault list of one server process. */
export class Hooks {
  private faults: Array<ActiveFault> = []
  private nextId = 1
  private stats = Hooks.empty()

  private static empty() {
    return {
      total: 0,
      requests: {} as Record<string, number>,
      models: {} as Record<string, number>,
      statuses: {} as Record<string, number>,
      inFlight: 0,
      activeGenerations: 0,
      aborted: 0,
      aborts: [] as Array<AbortRecord>,
      faultsTriggered: 0,
      tokens: { prompt: 0, completion: 0 }
    }
  }

  /** A copy of the statistics, as `GET /__test/stats` returns them. */
  snapshot(): Stats {
    return structuredClone(this.stats)
  }

  /** Forgets statistics (requests in flight are still tracked) and faults. */
  reset() {
    const { inFlight, activeGenerations } = this.stats
    this.stats = { ...Hooks.empty(), inFlight, activeGenerations }
    this.faults = []
  }

  /** Registers a fault; returns its id. */
  addFault(spec: FaultSpec) {
    const id = this.nextId++
    this.faults.push({ id, spec, remaining: spec.count ?? 1 })
    return id
  }

  /** Removes every fault. */
  clearFaults() {
    this.faults = []
  }

  /**
   * Takes the first fault matching a request. Before the model is known (`model` null) only faults without a
   * model filter and without `afterChunks` match; once it is known, the others.
   */
  takeFault(path: string, model: string | null, sameModel: (a: string, b: string) => boolean) {
    const fault = this.faults.find(({ spec }) => {
      if (spec.path !== undefined && !path.startsWith(spec.path)) return false
      if (model === null) return spec.model === undefined && spec.afterChunks === undefined
      return spec.model !== undefined ? sameModel(spec.model, model) : spec.afterChunks !== undefined
    })
    if (fault === undefined) return undefined
    if (fault.remaining > 0) fault.remaining--
    if (fault.remaining === 0) this.faults = this.faults.filter((f) => f !== fault)
    this.stats.faultsTriggered++
    return fault.spec
  }

  /** Counts an arriving request. */
  arrive(endpoint: string) {
    this.stats.total++
    this.stats.inFlight++
    this.stats.requests[endpoint] = (this.stats.requests[endpoint] ?? 0) + 1
  }

  /** Counts a request for a model. */
  useModel(model: string) {
    this.stats.models[model] = (this.stats.models[model] ?? 0) + 1
  }

  /** Counts a finished request, and its abort if its client went away first. */
  depart(status: number, abort: AbortRecord | undefined) {
    this.stats.inFlight--
    this.stats.statuses[status] = (this.stats.statuses[status] ?? 0) + 1
    if (abort === undefined) return
    this.stats.aborted++
    this.stats.aborts.push(abort)
  }

  /** Brackets a generation and adds its token counts. */
  generation<A extends { promptTokens: number; completionTokens: number }>(run: () => Promise<A>): Promise<A> {
    this.stats.activeGenerations++
    return run().then(
      (result) => {
        this.stats.activeGenerations--
        this.stats.tokens.prompt += result.promptTokens
        this.stats.tokens.completion += result.completionTokens
        return result
      },
      (error: unknown) => {
        this.stats.activeGenerations--
        throw error
      }
    )
  }
}
