/**
 * Turns `llm/*` params into wire-neutral requests: `file_path` text appended to the last user message (or the
 * prompt), `image_path`/`image_paths` read and base64-encoded, `system` as the first message.
 */
import type { LlmProtocol, ProviderError } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import type { ChatRequest, CompleteRequest } from "../../LlmClient.js"
import * as PathPolicy from "../../PathPolicy.js"
import { providerId } from "./http.js"

/** Reads a file named in params through the path policy (refusals are `SandboxViolation`, a missing file `NotFound`). */
export const readParamFile = (
  files: Files,
  method: string,
  path: string
): Effect.Effect<Buffer, ProviderError.ProviderError> =>
  Effect.map(
    Effect.mapError(files.readFile(path), PathPolicy.toProviderError(providerId, method)),
    (read) => Buffer.from(read.bytes)
  )

/** The path policy files named in params are read through. */
export type Files = typeof PathPolicy.PathPolicy.Service

type Generation = LlmProtocol.ChatParams | LlmProtocol.CompleteParams | LlmProtocol.VisionParams

const images = (files: Files, method: string, p: Generation) =>
  Effect.map(
    Effect.forEach([...(p.image_path === undefined ? [] : [p.image_path]), ...(p.image_paths ?? [])], (path) =>
      Effect.map(readParamFile(files, method, path), (bytes) => bytes.toString("base64"))),
    (read) => [...(p.images ?? []), ...read]
  )

const fileText = (files: Files, method: string, p: { readonly file_path?: string | undefined }) =>
  p.file_path === undefined
    ? Effect.succeed(undefined)
    : Effect.map(readParamFile(files, method, p.file_path), (bytes) => bytes.toString("utf8"))

const options = (p: Generation, stream: boolean) => ({
  model: p.model,
  stream,
  ...(p.temperature === undefined ? {} : { temperature: p.temperature }),
  ...(p.max_tokens === undefined ? {} : { maxTokens: p.max_tokens }),
  ...(p.seed === undefined ? {} : { seed: p.seed }),
  ...(p.stop === undefined ? {} : { stop: typeof p.stop === "string" ? [p.stop] : p.stop }),
  ...(p.format === undefined ? {} : { format: p.format }),
  ...(p.options === undefined ? {} : { options: p.options })
})

/** A chat request from `llm/chat` or `llm/vision` params (a `prompt` becomes one user message). */
export const chat = (
  files: Files,
  method: string,
  p: LlmProtocol.ChatParams | LlmProtocol.VisionParams,
  stream: boolean
) =>
  Effect.gen(function*() {
    const extraImages = yield* images(files, method, p)
    const text = yield* fileText(files, method, p)
    const messages: Array<LlmProtocol.Message> = [
      ...(p.system === undefined ? [] : [{ role: "system" as const, content: p.system }]),
      ...(p.messages ?? [{ role: "user" as const, content: "prompt" in p ? p.prompt ?? "" : "" }])
    ]
    let last = messages.findLastIndex((m) => m.role === "user")
    if (last < 0) {
      messages.push({ role: "user", content: "" })
      last = messages.length - 1
    }
    const target = messages[last]!
    const allImages = [...(target.images ?? []), ...extraImages]
    messages[last] = {
      ...target,
      content: text === undefined ? target.content : `${target.content}\n\n${text}`,
      ...(allImages.length === 0 ? {} : { images: allImages })
    }
    const request: ChatRequest = {
      ...options(p, stream),
      messages,
      ...(p.tools === undefined ? {} : { tools: p.tools })
    }
    return request
  })

/** A completion request from `llm/complete` params. */
export const complete = (files: Files, method: string, p: LlmProtocol.CompleteParams, stream: boolean) =>
  Effect.gen(function*() {
    const extraImages = yield* images(files, method, p)
    const text = yield* fileText(files, method, p)
    const request: CompleteRequest = {
      ...options(p, stream),
      prompt: text === undefined ? p.prompt : `${p.prompt}\n\n${text}`,
      ...(p.system === undefined ? {} : { system: p.system }),
      ...(extraImages.length === 0 ? {} : { images: extraImages })
    }
    return request
  })

/** The texts of `llm/embed` params (`text`, else `input`, else the file's content). */
export const embedInput = (files: Files, method: string, p: LlmProtocol.EmbedParams) =>
  Effect.map(fileText(files, method, p), (text): ReadonlyArray<string> => {
    const given = p.text ?? p.input
    if (given !== undefined) return typeof given === "string" ? [given] : given
    return [text ?? ""]
  })

/** A rough token estimate of texts (4 characters a token), for rate-limit reservations. */
export const estimateTokens = (texts: ReadonlyArray<string>): number =>
  Math.ceil(texts.reduce((sum, t) => sum + t.length, 0) / 4)
