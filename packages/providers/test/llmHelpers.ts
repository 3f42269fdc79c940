/**
 * Shared helpers of the LLM provider tests: test servers started once per file (a server that cannot start fails
 * every test naming node-llama-cpp), a provider built in the test's scope, and calls through the method specs.
 */
import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import { type Json, LlmProtocol, type ProviderError } from "@gleitzeit/core"
import { LlmConfig, LlmProvider, PathPolicy, type Provider } from "@gleitzeit/providers"
import type * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { tmpdir } from "node:os"
import { deflateSync } from "node:zlib"
import { crc32 } from "node:zlib"
import { type LlmServer, startLlmServer } from "../../../test/llm/launch.js"

/** Starts `count` LLM servers before the file's tests and stops them after; returns a getter. */
export const llmServers = (count: number, models?: ReadonlyArray<string>) => {
  const servers: Array<LlmServer> = []
  let unavailable: unknown
  beforeAll(async () => {
    try {
      const started = await Promise.all(
        Array.from({ length: count }, () => startLlmServer(models === undefined ? {} : { models }))
      )
      servers.push(...started)
    } catch (error) {
      unavailable = error
    }
  })
  beforeEach(() => {
    if (unavailable !== undefined) throw unavailable
  })
  afterAll(() => Promise.all(servers.map((s) => s.stop())))
  return () => servers
}

/** An endpoint of a test server in the given wire format. */
export const endpoint = (
  server: LlmServer,
  type: "ollama" | "openai",
  name: string,
  extra: Partial<LlmConfig.Endpoint> = {}
): LlmConfig.Endpoint => ({
  name,
  type,
  url: type === "ollama" ? server.url : `${server.url}/v1`,
  weight: 1,
  priority: 0,
  tags: [],
  ...extra
})

/** The provider over the given settings (files named in params read within `files`, default the temp folder). */
export const makeProvider = (
  settings: Partial<LlmConfig.LlmConfig["Type"]>,
  files: Partial<PathPolicy.Settings> = { roots: [tmpdir()] }
): Effect.Effect<Provider.Provider, never, Scope.Scope> =>
  LlmProvider.make.pipe(
    Effect.provide(LlmConfig.LlmConfig.layer({ retryOnOtherInstance: 0, ...settings })),
    Effect.provide(PathPolicy.layer(files))
  )

/** What a call streamed; `onToken` runs after each chunk is recorded. */
export interface Streamed {
  readonly tokens: Array<string>
  readonly onToken?: Effect.Effect<void>
}

/** A `Streamed` whose `reached` completes once `count` chunks have arrived. */
export const streamedUntil = (count: number): Effect.Effect<Streamed & { readonly reached: Effect.Effect<void> }> =>
  Effect.map(Deferred.make<void>(), (reached) => {
    const tokens: Array<string> = []
    return {
      tokens,
      onToken: Effect.suspend(() => tokens.length >= count ? Deferred.succeed(reached, undefined) : Effect.void),
      reached: Deferred.await(reached)
    }
  })

/**
 * The wake-up times that `after` has and `before` had not (the TestClock keeps one per sleep, so equal times
 * count separately).
 */
export const addedSleeps = (before: Chunk.Chunk<number>, after: Chunk.Chunk<number>): Array<number> => {
  const seen = new Map<number, number>()
  for (const at of before) seen.set(at, (seen.get(at) ?? 0) + 1)
  const added: Array<number> = []
  for (const at of after) {
    const left = seen.get(at) ?? 0
    if (left > 0) seen.set(at, left - 1)
    else added.push(at)
  }
  return added
}

/** Calls a method (or alias) with params decoded by its schema; collects streamed tokens into `streamed`. */
export const call = (
  provider: Provider.Provider,
  method: string,
  params: Record<string, unknown>,
  streamed: Streamed = { tokens: [] }
): Effect.Effect<Record<string, any>, ProviderError.ProviderError> => {
  const spec = LlmProtocol.spec.methods.find((m) => m.name === method || (m.aliases ?? []).includes(method))!
  const decoded = Schema.decodeUnknownSync(spec.params)(params)
  return provider.execute(spec, decoded, {
    runId: "run",
    taskId: "task",
    attempt: 1,
    idempotencyKey: "key",
    emit: (_stream, text) =>
      Effect.zipRight(Effect.sync(() => void streamed.tokens.push(text)), streamed.onToken ?? Effect.void)
  }).pipe(
    Effect.tap((result) => Schema.decodeUnknown(spec.result!)(result).pipe(Effect.orDie)),
    Effect.map((result) => result as Record<string, Json.Json> as Record<string, any>)
  )
}

/** The reason tag of a failed call's ProviderError. */
export const failureOf = <A>(effect: Effect.Effect<A, ProviderError.ProviderError>) => Effect.flip(effect)

/** A small RGB PNG (solid colour), built without dependencies. */
export const png = (width = 8, height = 8): Buffer => {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, "ascii"), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header[8] = 8
  header[9] = 2
  const rows = Buffer.concat(
    Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)]))
  )
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows)),
    chunk("IEND", Buffer.alloc(0))
  ])
}
