/**
 * Inference for the LLM test server: random-weight GGUF models (see `gguf.ts`) loaded into node-llama-cpp, with
 * ChatML prompts, grammar-constrained output, token streaming, cancellation and embeddings. One thread per
 * context: on a 2-core machine two threads per context collapse under contention.
 */
import {
  type GbnfJsonSchema,
  getLlama,
  type Llama,
  LlamaCompletion,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  LlamaLogLevel,
  type LlamaModel,
  LlamaText,
  SpecialTokensText,
  type Token,
  TokenBias
} from "node-llama-cpp"
import { mkdirSync, renameSync } from "node:fs"
import { join } from "node:path"
import * as Gguf from "./gguf.js"

/** A message of a chat prompt, already decoded from either wire format. */
export interface ChatMessage {
  readonly role: string
  readonly content: string
  readonly toolCalls?: ReadonlyArray<ToolCall>
}

/** A tool call in a chat message or a result. */
export interface ToolCall {
  readonly name: string
  readonly arguments: Readonly<Record<string, unknown>>
}

/** A tool offered to the model. */
export interface Tool {
  readonly name: string
  readonly description: string
  readonly parameters: unknown
}

/** What to run: a chat rendered with the model's ChatML template, or a raw completion prompt. */
export type Prompt =
  | { readonly kind: "chat"; readonly messages: ReadonlyArray<ChatMessage>; readonly tools: ReadonlyArray<Tool> }
  | { readonly kind: "raw"; readonly text: string }

/** Sampling and control options of one generation. */
export interface GenerateOptions {
  readonly maxTokens: number
  readonly temperature: number
  readonly seed: number | undefined
  readonly topK: number | undefined
  readonly topP: number | undefined
  readonly minP: number | undefined
  readonly stop: ReadonlyArray<string>
  readonly grammar: GbnfJsonSchema | undefined
  readonly contextLength: number | undefined
  /** Never end on an end-of-generation token: generate exactly `maxTokens` (unless a stop or grammar ends it). */
  readonly ignoreEos: boolean
  readonly signal: AbortSignal
  /** Called with each piece of text as soon as its token is generated. */
  readonly onText: (text: string) => void
}

/** The outcome of one generation, with the counts and nanosecond timings both wire formats report. */
export interface Generation {
  readonly text: string
  readonly promptTokens: number
  readonly completionTokens: number
  readonly finish: "stop" | "length" | "abort"
  readonly loadNs: number
  readonly promptNs: number
  readonly evalNs: number
  readonly totalNs: number
}

/** Embeddings of several inputs, L2-normalized. */
export interface Embeddings {
  readonly vectors: ReadonlyArray<ReadonlyArray<number>>
  readonly promptTokens: number
  readonly totalNs: number
}

/** What a model can be used for, as `/api/show` reports it. */
export type ModelKind = "chat" | "embedding"

/** Context length of every model (tokens per sequence). */
export const contextLength = 4096
const sequences = 4

/** Adds the default `:latest` tag when a model name has none. */
export const canonicalName = (name: string) => (name.includes(":") ? name : `${name}:latest`)

/** A loaded model with a pool of context sequences shared by concurrent requests. */
export class Model {
  private readonly waiting: Array<() => void> = []
  private embedder: Promise<LlamaEmbeddingContext> | undefined
  private embedding: Promise<unknown> = Promise.resolve()

  constructor(
    readonly name: string,
    readonly kind: ModelKind,
    readonly file: Gguf.GgufFile,
    readonly modifiedAt: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext
  ) {}

  /** Whether this model is the `fail-midstream` test hook (fails every streamed answer after a few chunks). */
  get failsMidstream() {
    return this.name.startsWith("fail-midstream:")
  }

  /** Generates a completion, streaming text through `onText`; an aborted signal stops it between two tokens. */
  async generate(prompt: Prompt, options: GenerateOptions): Promise<Generation> {
    const started = process.hrtime.bigint()
    const sequence = await this.acquire(options.signal)
    try {
      const grammar = options.grammar === undefined ? undefined : await this.grammar(options.grammar)
      const window = Math.max(8, Math.min(options.contextLength ?? contextLength, contextLength))
      // Like Ollama, a prompt longer than the window loses its beginning; room stays for the answer (and the BOS).
      const room = Math.max(1, Math.min(options.maxTokens, Math.floor(window / 4)))
      let tokens: Array<Token> = render(prompt).tokenize(this.model.tokenizer)
      if (tokens.length > window - room - 1) tokens = tokens.slice(tokens.length - (window - room - 1))
      const promptTokens = tokens.length + 1
      const maxTokens = Math.min(options.maxTokens, window - promptTokens)
      const loaded = process.hrtime.bigint()
      let firstToken: bigint | undefined
      let completionTokens = 0
      let finish: Generation["finish"] = "length"
      // Stop sequences are matched here on the streamed text: node-llama-cpp's own matching misses sequences that
      // span a word boundary of this SPM vocabulary.
      const stops = new StopScanner(options.stop, options.onText)
      const halt = new AbortController()
      const abort = () => halt.abort()
      if (maxTokens > 0 && !options.signal.aborted) {
        const completion = new LlamaCompletion({ contextSequence: sequence })
        options.signal.addEventListener("abort", abort)
        try {
          const result = await completion.generateCompletionWithMeta(tokens, {
            maxTokens,
            temperature: options.temperature,
            ...(options.seed === undefined ? {} : { seed: options.seed }),
            ...(options.topK === undefined ? {} : { topK: options.topK }),
            ...(options.topP === undefined ? {} : { topP: options.topP }),
            ...(options.minP === undefined ? {} : { minP: options.minP }),
            ...(grammar === undefined ? {} : { grammar }),
            ...(options.ignoreEos ? { tokenBias: this.endless() } : {}),
            signal: halt.signal,
            stopOnAbortSignal: true,
            onToken: (generated) => {
              firstToken ??= process.hrtime.bigint()
              completionTokens += generated.length
            },
            onTextChunk: (chunk) => {
              if (stops.push(chunk)) halt.abort()
            }
          })
          const reason = result.metadata.stopReason
          finish = stops.stopped ? "stop" : reason === "maxTokens" ? "length" : reason === "abort" ? "abort" : "stop"
        } finally {
          completion.dispose()
          options.signal.removeEventListener("abort", abort)
        }
      }
      const text = stops.finish(grammar !== undefined)
      if (options.signal.aborted) finish = "abort"
      const ended = process.hrtime.bigint()
      const evalStart = firstToken ?? ended
      return {
        text,
        promptTokens,
        completionTokens,
        finish,
        loadNs: Number(loaded - started),
        promptNs: Number(evalStart - loaded),
        evalNs: Number(ended - evalStart),
        totalNs: Number(ended - started)
      }
    } finally {
      await this.release(sequence)
    }
  }

  /** Embeds each input (one at a time: node-llama-cpp evaluates one embedding per context). */
  embed(inputs: ReadonlyArray<string>): Promise<Embeddings> {
    const run = this.embedding.then(async () => {
      const started = process.hrtime.bigint()
      this.embedder ??= this.model.createEmbeddingContext({ contextSize: 2048, threads: 1 })
      const embedder = await this.embedder
      const vectors: Array<Array<number>> = []
      let promptTokens = 0
      for (const input of inputs) {
        const tokens = this.model.tokenize(input.length === 0 ? " " : input).slice(0, 2040)
        promptTokens += tokens.length
        const { vector } = await embedder.getEmbeddingFor(tokens)
        const norm = Math.sqrt(vector.reduce((sum, x) => sum + x * x, 0)) || 1
        vectors.push(vector.map((x) => x / norm))
      }
      return { vectors, promptTokens, totalNs: Number(process.hrtime.bigint() - started) }
    })
    this.embedding = run.catch(() => undefined)
    return run
  }

  /**
   * Compiles a JSON-schema grammar with bounded numbers and keys: node-llama-cpp's number rules allow exponents of up
   * to 16 digits, which a random model happily uses (1e999 parses as Infinity, not a valid JSON number), and the
   * keys of free-form objects have no length limit (every string schema gets a `maxLength` in `schema.ts`).
   */
  private async grammar(schema: GbnfJsonSchema) {
    const json = await this.llama.createGrammarForJsonSchema(schema as never)
    const integer = `"-"? ("0" | [1-9] [0-9]{0,8})`
    const grammar = json.grammar
      .replace(/^fractional-number-rule ::= .*$/m, `fractional-number-rule ::= ${integer} ("." [0-9]{1,6})?`)
      .replace(/^integer-number-rule ::= .*$/m, `integer-number-rule ::= ${integer}`)
      .replace(/^string-rule ::= .*$/m, `string-rule ::= "\\"" ( string-char-rule ){1,16} "\\""`)
    return this.llama.createGrammar({
      grammar,
      stopGenerationTriggers: json.stopGenerationTriggers,
      trimWhitespaceSuffix: json.trimWhitespaceSuffix
    })
  }

  /**
   * A bias that forbids the end-of-generation tokens. `TokenBias.set` ignores those tokens on purpose, so this
   * writes its (pinned version's) bias map directly; a version without that map fails loudly here.
   */
  private endless() {
    const bias = new TokenBias(this.model.tokenizer)
    const biases = (bias as unknown as { _biases?: unknown })._biases
    if (!(biases instanceof Map)) throw new Error("ignore_eos: this node-llama-cpp version has no TokenBias._biases")
    for (const token of [this.model.tokens.eos, ...this.model.tokenize("<|im_end|>", true)]) {
      if (token !== null) biases.set(token, -Infinity)
    }
    return bias
  }

  private async acquire(signal: AbortSignal): Promise<LlamaContextSequence> {
    while (this.context.sequencesLeft === 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener("abort", wake)
          const index = this.waiting.indexOf(wake)
          if (index >= 0) this.waiting.splice(index, 1)
          resolve()
        }
        this.waiting.push(wake)
        signal.addEventListener("abort", wake)
      })
      if (signal.aborted) throw new Error("the request was aborted while waiting for a free sequence")
    }
    return this.context.getSequence()
  }

  private async release(sequence: LlamaContextSequence) {
    await sequence.dispose()
    this.waiting.shift()?.()
  }
}

/**
 * Streams text while watching for stop sequences: text that could be the start of a stop sequence is held back
 * until it is known not to be one; at a stop, the text before it is the answer.
 */
class StopScanner {
  private text = ""
  private emitted = 0
  stopped = false

  constructor(private readonly stops: ReadonlyArray<string>, private readonly emit: (text: string) => void) {}

  /** Adds generated text; true when a stop sequence has appeared. */
  push(chunk: string): boolean {
    if (this.stopped) return true
    this.text += chunk
    const hits = this.stops.map((stop) => this.text.indexOf(stop, this.emitted)).filter((index) => index >= 0)
    if (hits.length > 0) {
      const at = Math.min(...hits)
      this.stopped = true
      this.text = this.text.slice(0, at)
      this.flush(at)
      return true
    }
    let safe = this.text.length
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.text.length); length > 0; length--) {
        if (this.text.endsWith(stop.slice(0, length))) {
          safe = Math.min(safe, this.text.length - length)
          break
        }
      }
    }
    this.flush(safe)
    return false
  }

  /** Emits what was held back and returns the whole text. */
  finish(trimEnd: boolean) {
    if (trimEnd) this.text = this.text.trimEnd()
    this.flush(this.text.length)
    return this.text
  }

  private flush(until: number) {
    if (until > this.emitted) this.emit(this.text.slice(this.emitted, until))
    this.emitted = Math.max(this.emitted, until)
  }
}

/** The inference engine: node-llama-cpp plus the models the server was started with. */
export interface Engine {
  readonly llama: Llama
  readonly models: ReadonlyMap<string, Model>
  readonly close: () => Promise<void>
}

/**
 * Writes a GGUF per model name into `dir` (seeded by the name, so the same name always gives the same file; written
 * to a temporary name and renamed, so servers sharing the directory never see a partial file) and loads them all.
 */
export const load = async (names: ReadonlyArray<string>, dir: string): Promise<Engine> => {
  mkdirSync(dir, { recursive: true })
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1 })
  const models = new Map<string, Model>()
  for (const name of names.map(canonicalName)) {
    const base = name.slice(0, name.lastIndexOf(":"))
    const path = join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, "_")}.gguf`)
    const file = Gguf.write(`${path}.${process.pid}.tmp`, { seed: Gguf.seedFromName(base), name: base })
    renameSync(`${path}.${process.pid}.tmp`, path)
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 })
    const context = await model.createContext({ contextSize: contextLength, sequences, threads: 1, batchSize: 512 })
    const kind: ModelKind = base.includes("embed") ? "embedding" : "chat"
    models.set(name, new Model(name, kind, file, new Date().toISOString(), llama, model, context))
  }
  return { llama, models, close: () => llama.dispose() }
}

const special = (text: string) => new SpecialTokensText(text)

/** Renders a prompt with the ChatML template stored in the GGUF (tools are described in the system message). */
const render = (prompt: Prompt): LlamaText => {
  if (prompt.kind === "raw") return LlamaText(prompt.text)
  const messages = [...prompt.messages]
  if (prompt.tools.length > 0) {
    const described = `# Tools\nCall a tool with <tool_call>{"name", "arguments"}</tool_call>:\n${
      prompt.tools.map((tool) => JSON.stringify(tool)).join("\n")
    }`
    const first = messages[0]
    if (first?.role === "system") messages[0] = { role: "system", content: `${first.content}\n\n${described}` }
    else messages.unshift({ role: "system", content: described })
  }
  const parts = messages.flatMap((message) => {
    const calls = (message.toolCalls ?? []).map((call) => `\n<tool_call>${JSON.stringify(call)}</tool_call>`)
    const body = `${message.role}\n${message.content}${calls.join("")}`
    return [special("<|im_start|>"), body, special("<|im_end|>"), "\n"]
  })
  return LlamaText([...parts, special("<|im_start|>"), "assistant\n"])
}
