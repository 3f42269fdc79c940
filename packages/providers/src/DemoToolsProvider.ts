/**
 * The predecessor's demo tools `mcp/tool.echo|add|multiply|concat`, served in-process.
 */
import { DemoToolsProtocol, type Json } from "@gleitzeit/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { healthy, type Provider } from "./Provider.js"
import * as ProviderRegistry from "./ProviderRegistry.js"

type Echo = typeof DemoToolsProtocol.EchoParams.Type
type Arithmetic = typeof DemoToolsProtocol.ArithmeticParams.Type
type Concat = typeof DemoToolsProtocol.ConcatParams.Type

const numberResult = (n: number): Json.Json => ({ result: n, response: String(n) })

/** The demo tools provider. */
export const provider: Provider = {
  id: "demo-tools",
  spec: DemoToolsProtocol.spec,
  execute: (method, params) =>
    Effect.sync((): Json.Json => {
      switch (method.name) {
        case "mcp/tool.echo":
          return { response: (params as Echo).message }
        case "mcp/tool.add":
          return numberResult((params as Arithmetic).a + (params as Arithmetic).b)
        case "mcp/tool.multiply":
          return numberResult((params as Arithmetic).a * (params as Arithmetic).b)
        default: {
          const p = params as Concat
          return { response: p.strings.map(String).join(p.separator) }
        }
      }
    }),
  health: Effect.succeed(healthy)
}

/** Registers the demo tools. */
export const layer: Layer.Layer<never, never, ProviderRegistry.ProviderRegistry> = ProviderRegistry.register(
  Effect.succeed(provider)
)
