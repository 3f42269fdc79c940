/**
 * The predecessor's built-in demo tools (`mcp/tool.echo|add|multiply|concat`), kept so its simple MCP
 * workflows run unchanged.
 */
import * as Schema from "effect/Schema"
import * as Protocol from "./Protocol.js"

/** Params of `mcp/tool.echo`. */
export const EchoParams = Schema.Struct({ message: Schema.String })
/** Params of `mcp/tool.add` and `mcp/tool.multiply`. */
export const ArithmeticParams = Schema.Struct({ a: Schema.Number, b: Schema.Number })
/** Params of `mcp/tool.concat`. */
export const ConcatParams = Schema.Struct({
  strings: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  separator: Schema.optionalWith(Schema.String, { default: () => "" })
})

/** Result with a number. */
export const NumberResult = Schema.Struct({ result: Schema.Number, response: Schema.String })
/** Result with text. */
export const TextResult = Schema.Struct({ response: Schema.String })

/** The demo tools, under the `mcp/v1` protocol. */
export const spec = Protocol.make("mcp/v1", [
  Protocol.method({
    name: "mcp/tool.echo",
    protocol: "mcp/v1",
    description: "Echo the message back",
    params: EchoParams,
    result: TextResult,
    idempotent: true
  }),
  Protocol.method({
    name: "mcp/tool.add",
    protocol: "mcp/v1",
    description: "Add two numbers",
    params: ArithmeticParams,
    result: NumberResult,
    idempotent: true
  }),
  Protocol.method({
    name: "mcp/tool.multiply",
    protocol: "mcp/v1",
    description: "Multiply two numbers",
    params: ArithmeticParams,
    result: NumberResult,
    idempotent: true
  }),
  Protocol.method({
    name: "mcp/tool.concat",
    protocol: "mcp/v1",
    description: "Join strings with a separator",
    params: ConcatParams,
    result: TextResult,
    idempotent: true
  })
])
