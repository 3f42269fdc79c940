/**
 * The LLM test server: a separate process that generates a random-weight GGUF per model name, loads them into
 * node-llama-cpp and serves the Ollama API (`/api/*`) and the OpenAI-compatible API (`/v1/*`) on 127.0.0.1.
 *
 *   node server.mjs [--models tiny-chat,tiny-code,tiny-embed,fail-midstream] [--port 0] [--dir DIR]
 *
 * The GGUF files go to DIR (default `$TMPDIR/gleitzeit-llm-models`, a few MB shared by all servers).
 *
 * Prints `LISTENING <port>` on stdout once ready. Exits on SIGTERM/SIGINT, and when its stdin closes if started
 * with `--exit-with-stdin` (so a test runner that dies takes its servers with it). `launch.ts` bundles and starts
 * it. Model names containing "embed" are embedding-only; `fail-midstream` fails every streamed answer after three
 * chunks. Test hooks live under `/__test` (see `protocol.ts`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Engine from "./engine.js"
import { Hooks } from "./hooks.js"
import { Exchange, HttpError, isJson } from "./http.js"
import * as Ollama from "./ollama.js"
import * as OpenAi from "./openai.js"
import type { FaultSpec } from "./protocol.js"

const argument = (name: string) => {
  const index = process.argv.indexOf(`--${name}`)
  return index >= 0 ? process.argv[index + 1] : undefined
}

const names = (argument("models") ?? "tiny-chat,tiny-code,tiny-embed,fail-midstream").split(",").filter(Boolean)
const dir = argument("dir") ?? join(tmpdir(), "gleitzeit-llm-models")
const started = performance.now()
const engine = await Engine.load(names, dir)
const hooks = new Hooks()
const routes = { ...Ollama.routes, ...OpenAi.routes }

const readJson = async (req: IncomingMessage): Promise<unknown> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString("utf8")
  return text === "" ? {} : JSON.parse(text)
}

const reply = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

/** `/__test/*`: statistics, faults, reset. Not counted in the statistics. */
const control = async (req: IncomingMessage, res: ServerResponse, path: string) => {
  const endpoint = `${req.method} ${path}`
  if (endpoint === "GET /__test/stats") return reply(res, 200, hooks.snapshot())
  if (endpoint === "POST /__test/reset") {
    hooks.reset()
    return reply(res, 200, {})
  }
  if (endpoint === "DELETE /__test/faults") {
    hooks.clearFaults()
    return reply(res, 200, {})
  }
  if (endpoint === "POST /__test/faults") {
    const spec = await readJson(req).catch(() => undefined)
    if (!isJson(spec)) return reply(res, 400, { error: "a fault is a JSON object" })
    return reply(res, 200, { id: hooks.addFault(spec as FaultSpec) })
  }
  reply(res, 404, { error: `unknown test hook ${endpoint}` })
}

const handle = async (req: IncomingMessage, res: ServerResponse) => {
  const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname
  if (path.startsWith("/__test/")) return control(req, res, path)
  const x = new Exchange(req, res, path, path.startsWith("/v1/") ? "openai" : "ollama", engine, hooks)
  hooks.arrive(x.endpoint)
  try {
    const fault = hooks.takeFault(path, null, () => false)
    if (fault !== undefined) await x.applyFault(fault)
    const route = routes[x.endpoint]
    if (route !== undefined) await route(x)
    else if (req.method === "GET" && path.startsWith("/v1/models/")) {
      await OpenAi.retrieveModel(x, decodeURIComponent(path.slice("/v1/models/".length)))
    } else if (Object.keys(routes).some((key) => key.endsWith(` ${path}`))) {
      throw new HttpError(405, `method ${req.method} not allowed on ${path}`)
    } else throw new HttpError(404, `404 page not found: ${path}`)
  } catch (error) {
    x.fail(error instanceof HttpError ? error : new HttpError(500, String((error as Error)?.message ?? error)))
  } finally {
    const abort = x.clientAborted
      ? { endpoint: x.endpoint, model: x.modelName, streaming: x.streaming, completionTokens: x.completionTokens }
      : undefined
    hooks.depart(x.status, abort)
  }
}

const server = createServer((req, res) => void handle(req, res))
server.on("connection", (socket) => socket.setNoDelay(true))
server.keepAliveTimeout = 5_000

let closing = false
const shutdown = (code: number) => {
  if (closing) return
  closing = true
  server.closeAllConnections()
  server.close()
  void engine.close().finally(() => process.exit(code))
  setTimeout(() => process.exit(code), 2_000).unref()
}
process.on("SIGTERM", () => shutdown(0))
process.on("SIGINT", () => shutdown(0))
if (process.argv.includes("--exit-with-stdin")) {
  process.stdin.on("end", () => shutdown(0))
  process.stdin.on("close", () => shutdown(0))
  process.stdin.resume()
}

const port = Number(argument("port") ?? 0)
server.listen(port, "127.0.0.1", () => {
  const address = server.address()
  const bound = typeof address === "object" && address !== null ? address.port : port
  process.stderr.write(`llm test server: ${names.join(", ")} ready in ${Math.round(performance.now() - started)} ms\n`)
  process.stdout.write(`LISTENING ${bound}\n`)
})
