/**
 * A writer of tiny llama-architecture GGUF v3 files with seeded random F32 weights, so that tests can run real
 * inference (node-llama-cpp / llama.cpp) without downloading a model. The text such a model writes is gibberish
 * by design; it is reproducible for a given seed, which is all the tests need.
 *
 * File layout (GGUF v3, little-endian): magic "GGUF", version, tensor count, metadata count, the metadata
 * key/value pairs, one info record per tensor (name, dims with the fastest-varying first, type, offset), padding
 * to the alignment, then the tensor data, each tensor starting on an aligned offset.
 */
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"

/** The shape and identity of a generated model. */
export interface GgufOptions {
  /** Seed of the weights: the same seed (and shape) always gives the same file. */
  readonly seed: number
  /** `general.name` of the model. */
  readonly name?: string
  readonly embeddingLength?: number
  readonly blockCount?: number
  readonly headCount?: number
  readonly feedForwardLength?: number
  readonly contextLength?: number
}

/** What was written: the file's bytes and the facts a server reports about the model. */
export interface GgufFile {
  readonly bytes: Buffer
  readonly digest: string
  readonly parameterCount: number
  readonly vocabularySize: number
  readonly embeddingLength: number
  readonly contextLength: number
  readonly chatTemplate: string
}

/** The ChatML template stored in `tokenizer.chat_template`. */
export const chatTemplate = "{% for message in messages %}" +
  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

/** Derives a 32-bit seed from a model name (FNV-1a), so a name always maps to the same weights. */
export const seedFromName = (name: string): number => {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(name, "utf8")) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0
  }
  return hash
}

/** Builds the bytes of a random-weight llama GGUF v3 model. */
export const build = (options: GgufOptions): GgufFile => {
  const nEmbd = options.embeddingLength ?? 64
  const nLayer = options.blockCount ?? 2
  const nHead = options.headCount ?? 4
  const nFf = options.feedForwardLength ?? 128
  const nCtx = options.contextLength ?? 4096
  const vocab = vocabulary()
  const nVocab = vocab.tokens.length
  const random = generator(options.seed)

  const tensors: Array<Tensor> = []
  const matrix = (name: string, columns: number, rows: number, scale: number) =>
    tensors.push({ name, dims: [columns, rows], data: uniform(random, columns * rows, scale) })
  const ones = (name: string) => tensors.push({ name, dims: [nEmbd], data: new Float32Array(nEmbd).fill(1) })

  matrix("token_embd.weight", nEmbd, nVocab, 1)
  for (let layer = 0; layer < nLayer; layer++) {
    const blk = `blk.${layer}`
    ones(`${blk}.attn_norm.weight`)
    for (const part of ["attn_q", "attn_k", "attn_v", "attn_output"]) {
      matrix(`${blk}.${part}.weight`, nEmbd, nEmbd, 1 / Math.sqrt(nEmbd))
    }
    ones(`${blk}.ffn_norm.weight`)
    matrix(`${blk}.ffn_gate.weight`, nEmbd, nFf, 1 / Math.sqrt(nEmbd))
    matrix(`${blk}.ffn_up.weight`, nEmbd, nFf, 1 / Math.sqrt(nEmbd))
    matrix(`${blk}.ffn_down.weight`, nFf, nEmbd, 1 / Math.sqrt(nFf))
  }
  ones("output_norm.weight")
  const output = uniform(random, nEmbd * nVocab, 3 / Math.sqrt(nEmbd))
  vocab.outputScale.forEach((scale, token) => {
    for (let i = 0; i < nEmbd; i++) output[token * nEmbd + i]! *= scale
  })
  tensors.push({ name: "output.weight", dims: [nEmbd, nVocab], data: output })

  const metadata: Array<[string, Value]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: options.name ?? `random-${options.seed}` }],
    ["general.file_type", { type: "u32", value: 0 }],
    ["general.alignment", { type: "u32", value: alignment }],
    ["llama.context_length", { type: "u32", value: nCtx }],
    ["llama.embedding_length", { type: "u32", value: nEmbd }],
    ["llama.block_count", { type: "u32", value: nLayer }],
    ["llama.feed_forward_length", { type: "u32", value: nFf }],
    ["llama.attention.head_count", { type: "u32", value: nHead }],
    ["llama.attention.head_count_kv", { type: "u32", value: nHead }],
    ["llama.rope.dimension_count", { type: "u32", value: nEmbd / nHead }],
    ["llama.rope.freq_base", { type: "f32", value: 10000 }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.vocab_size", { type: "u32", value: nVocab }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "strings", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32s", value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "i32s", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: 2 }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: chatTemplate }]
  ]
  const bytes = encode(metadata, tensors)
  return {
    bytes,
    digest: createHash("sha256").update(bytes).digest("hex"),
    parameterCount: tensors.reduce((sum, t) => sum + t.data.length, 0),
    vocabularySize: nVocab,
    embeddingLength: nEmbd,
    contextLength: nCtx,
    chatTemplate
  }
}

/** Builds a model and writes it to `path`. */
export const write = (path: string, options: GgufOptions): GgufFile => {
  const file = build(options)
  writeFileSync(path, file.bytes)
  return file
}

const alignment = 32

interface Tensor {
  readonly name: string
  readonly dims: ReadonlyArray<number>
  readonly data: Float32Array
}

type Value =
  | { readonly type: "u32"; readonly value: number }
  | { readonly type: "f32"; readonly value: number }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "strings"; readonly value: ReadonlyArray<string> }
  | { readonly type: "f32s"; readonly value: ReadonlyArray<number> }
  | { readonly type: "i32s"; readonly value: ReadonlyArray<number> }

// GGUF metadata value types and ggml tensor types used here.
const GGUF_U32 = 4
const GGUF_I32 = 5
const GGUF_F32 = 6
const GGUF_BOOL = 7
const GGUF_STRING = 8
const GGUF_ARRAY = 9
const GGML_F32 = 0

/** Token types of llama.cpp's vocabulary. */
const NORMAL = 1
const UNKNOWN = 2
const CONTROL = 3
const BYTE = 6

const words = (
  "the of and to in is it you that he was for on are with as his they be at one have this from or had by not " +
  "but what all we can out use your how said an each she which do if will way about many then them so her " +
  "make see him two has look more day go come did no my over know than call who may now find new work part " +
  "model token data json true false null value task run"
).split(" ")

/** An SPM vocabulary: specials, 256 byte-fallback tokens, ChatML markers, then single characters and words. */
const vocabulary = () => {
  const tokens: Array<string> = ["<unk>", "<s>", "</s>"]
  const types: Array<number> = [UNKNOWN, CONTROL, CONTROL]
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`)
    types.push(BYTE)
  }
  tokens.push("<|im_start|>", "<|im_end|>")
  types.push(CONTROL, CONTROL)
  const pieces = new Set<string>()
  const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?'\"-()[]{}_/=+*#<>\n"
  pieces.add("\u2581")
  for (const c of chars) pieces.add(c)
  for (const word of words) {
    for (let end = 1; end <= word.length; end++) pieces.add(`\u2581${word.slice(0, end)}`)
  }
  for (const piece of pieces) {
    tokens.push(piece)
    types.push(NORMAL)
  }
  // Longer pieces score higher, so the tokenizer prefers whole words over characters.
  const scores = tokens.map((token, id) => (types[id] === NORMAL ? [...token].length - id / 10000 : 0))
  // Favour readable pieces over raw bytes when sampling; the end markers stay likely enough to end some answers.
  const outputScale = tokens.map((token, id) =>
    types[id] === BYTE ? 0.3 : token === "</s>" || token === "<|im_end|>" ? 1.4 : types[id] === CONTROL ? 0 : 1
  )
  return { tokens, types, scores, outputScale }
}

/** A small seeded generator (xorshift32 over a splitmix-style scrambled seed), uniform in [0, 1). */
const generator = (seed: number) => {
  let state = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 4294967296
  }
}

const uniform = (random: () => number, length: number, scale: number) => {
  const data = new Float32Array(length)
  for (let i = 0; i < length; i++) data[i] = (random() * 2 - 1) * scale
  return data
}

/** A growable little-endian byte buffer. */
class Writer {
  private buffer = Buffer.alloc(1 << 16)
  length = 0

  private reserve(size: number) {
    if (this.length + size <= this.buffer.length) return
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + size))
    this.buffer.copy(next, 0, 0, this.length)
    this.buffer = next
  }
  u32(value: number) {
    this.reserve(4)
    this.length = this.buffer.writeUInt32LE(value, this.length)
  }
  i32(value: number) {
    this.reserve(4)
    this.length = this.buffer.writeInt32LE(value, this.length)
  }
  u64(value: number) {
    this.reserve(8)
    this.length = this.buffer.writeBigUInt64LE(BigInt(value), this.length)
  }
  f32(value: number) {
    this.reserve(4)
    this.length = this.buffer.writeFloatLE(value, this.length)
  }
  u8(value: number) {
    this.reserve(1)
    this.length = this.buffer.writeUInt8(value, this.length)
  }
  string(value: string) {
    const bytes = Buffer.from(value, "utf8")
    this.u64(bytes.length)
    this.bytes(bytes)
  }
  bytes(bytes: Uint8Array) {
    this.reserve(bytes.length)
    this.buffer.set(bytes, this.length)
    this.length += bytes.length
  }
  pad() {
    const padding = (alignment - (this.length % alignment)) % alignment
    this.bytes(new Uint8Array(padding))
  }
  result() {
    return this.buffer.subarray(0, this.length)
  }
}

const writeValue = (w: Writer, value: Value) => {
  switch (value.type) {
    case "u32":
      w.u32(GGUF_U32)
      return w.u32(value.value)
    case "f32":
      w.u32(GGUF_F32)
      return w.f32(value.value)
    case "bool":
      w.u32(GGUF_BOOL)
      return w.u8(value.value ? 1 : 0)
    case "string":
      w.u32(GGUF_STRING)
      return w.string(value.value)
    case "strings":
      w.u32(GGUF_ARRAY)
      w.u32(GGUF_STRING)
      w.u64(value.value.length)
      return value.value.forEach((s) => w.string(s))
    case "f32s":
      w.u32(GGUF_ARRAY)
      w.u32(GGUF_F32)
      w.u64(value.value.length)
      return value.value.forEach((n) => w.f32(n))
    case "i32s":
      w.u32(GGUF_ARRAY)
      w.u32(GGUF_I32)
      w.u64(value.value.length)
      return value.value.forEach((n) => w.i32(n))
  }
}

const encode = (metadata: ReadonlyArray<[string, Value]>, tensors: ReadonlyArray<Tensor>) => {
  const w = new Writer()
  w.bytes(Buffer.from("GGUF", "ascii"))
  w.u32(3)
  w.u64(tensors.length)
  w.u64(metadata.length)
  for (const [key, value] of metadata) {
    w.string(key)
    writeValue(w, value)
  }
  let offset = 0
  for (const tensor of tensors) {
    w.string(tensor.name)
    w.u32(tensor.dims.length)
    tensor.dims.forEach((d) => w.u64(d))
    w.u32(GGML_F32)
    w.u64(offset)
    offset += Math.ceil((tensor.data.byteLength) / alignment) * alignment
  }
  w.pad()
  for (const tensor of tensors) {
    w.bytes(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength))
    w.pad()
  }
  return Buffer.from(w.result())
}
