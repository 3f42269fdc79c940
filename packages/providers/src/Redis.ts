/**
 * The Redis connection a cluster of Gleitzeit nodes shares its fast state through (rate limits, the response cache,
 * the event bus). The ioredis client is wrapped here once: commands run through `use`/`eval` as effects, the
 * connection is scoped to the layer, and connecting fails fast with `RedisUnavailable` instead of retrying forever.
 * Once connected, a lost connection is re-established in the background (commands meanwhile fail after a bounded
 * number of reconnect attempts). SUBSCRIBE needs a connection of its own: `subscribe` opens one per channel.
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Redis as IORedis } from "ioredis"
import { createHash } from "node:crypto"

/** Connecting to Redis failed (after the bounded attempts); the message names Redis and the URL. */
export class RedisUnavailable extends Schema.TaggedError<RedisUnavailable>("@gleitzeit/RedisUnavailable")(
  "RedisUnavailable",
  { url: Schema.String, message: Schema.String, cause: Schema.optional(Schema.Defect) }
) {}

/** A Redis command failed on an established connection. */
export class RedisError extends Schema.TaggedError<RedisError>("@gleitzeit/RedisError")("RedisError", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** How to reach Redis. */
export interface Options {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string
  /** Prepended to every key and channel this service names (`key`); default `gleitzeit:`. */
  readonly keyPrefix?: string
  /** How long one connection attempt may take; default 5 seconds. */
  readonly connectTimeout?: Duration.DurationInput
  /** How long a command (and the connection handshake) may wait for its answer; default 5 seconds. */
  readonly commandTimeout?: Duration.DurationInput
  /** Connection attempts before giving up with `RedisUnavailable`; default 3. */
  readonly connectAttempts?: number
}

/** A Lua script and its SHA-1, run with EVALSHA (falling back to EVAL when the server does not know it yet). */
export interface Script {
  /** The script's source. */
  readonly lua: string
  /** Its SHA-1, the name EVALSHA knows it by. */
  readonly sha: string
}

/** Prepares a Lua script for `Redis.eval`. */
export const script = (lua: string): Script => ({ lua, sha: createHash("sha1").update(lua).digest("hex") })

/** The Redis service: a connected client and effectful access to it. */
export class Redis extends Context.Tag("@gleitzeit/providers/Redis")<Redis, {
  /** The ioredis client (commands go through `use`/`eval`, which turn its promises into effects). */
  readonly client: IORedis
  /** The server's URL without its password, for messages. */
  readonly url: string
  /** The key prefix of this deployment. */
  readonly keyPrefix: string
  /** A key (or channel) name under the prefix. */
  readonly key: (name: string) => string
  /** Runs one or more commands on the client. */
  readonly use: <A>(operation: string, f: (client: IORedis) => Promise<A>) => Effect.Effect<A, RedisError>
  /** Runs a Lua script atomically on `keys` (full key names) with `args`. */
  readonly eval: (
    script: Script,
    keys: ReadonlyArray<string>,
    args: ReadonlyArray<string | number>
  ) => Effect.Effect<unknown, RedisError>
  /** Subscribes a dedicated connection to `channel`; its messages arrive on the queue until the scope closes. */
  readonly subscribe: (
    channel: string
  ) => Effect.Effect<Queue.Dequeue<string>, RedisUnavailable | RedisError, Scope.Scope>
}>() {}

/** The URL with its password masked. */
const displayUrl = (url: string): string => {
  if (!URL.canParse(url)) return url
  const parsed = new URL(url)
  if (parsed.password !== "") parsed.password = "***"
  return parsed.toString()
}

const messageOf = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/**
 * Opens one connection: each attempt is a fresh client that must connect within `connectTimeout` and answer the
 * handshake and a PING within `commandTimeout`; failed attempts are retried with backoff, then the effect fails
 * with `RedisUnavailable`. The connection closes with the scope.
 */
export const connect = (options: Options): Effect.Effect<IORedis, RedisUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const url = displayUrl(options.url)
    // Errors of a connection that was up (it reconnects by itself) are logged by a fiber of this scope.
    const problems = yield* Effect.acquireRelease(Queue.unbounded<string>(), Queue.shutdown)
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.flatMap(Queue.take(problems), (message) => Effect.logWarning(`Redis at ${url}: ${message}`))
      )
    )
    const timeout = Duration.toMillis(Duration.decode(options.connectTimeout ?? "5 seconds"))
    const commandTimeout = Duration.toMillis(Duration.decode(options.commandTimeout ?? "5 seconds"))
    const attempt = Effect.tryPromise({
      try: (signal) => {
        let connected = false
        const client = new IORedis(options.url, {
          lazyConnect: true,
          connectTimeout: timeout,
          // Also bounds the handshake, so a server that accepts but never answers fails the attempt.
          commandTimeout,
          maxRetriesPerRequest: 2,
          // Before the first connection, one try per attempt (the effect retries); afterwards keep reconnecting.
          retryStrategy: (times) => connected ? Math.min(times * 200, 2000) : null
        })
        client.on("error", (error: unknown) => {
          if (connected) Queue.unsafeOffer(problems, messageOf(error))
        })
        signal.addEventListener("abort", () => client.disconnect())
        return client.connect().then(() => client.ping()).then(
          () => {
            connected = true
            return client
          },
          (cause: unknown) => {
            client.disconnect()
            throw cause
          }
        )
      },
      catch: (cause) =>
        new RedisUnavailable({ url, message: `Redis at ${url} is unreachable: ${messageOf(cause)}`, cause })
    }).pipe(Effect.interruptible)
    return yield* Effect.acquireRelease(
      Effect.retry(attempt, {
        schedule: Schedule.exponential("100 millis"),
        times: Math.max(0, (options.connectAttempts ?? 3) - 1)
      }),
      (client) =>
        client.status === "ready"
          ? Effect.tryPromise(() => client.quit()).pipe(
            Effect.timeout("2 seconds"),
            Effect.ignore,
            Effect.ensuring(Effect.sync(() => client.disconnect()))
          )
          : Effect.sync(() => client.disconnect())
    )
  })

/** Connects and builds the service (the connection lives as long as the scope). */
export const make = (options: Options): Effect.Effect<Redis["Type"], RedisUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* connect(options)
    const keyPrefix = options.keyPrefix ?? "gleitzeit:"
    const use = <A>(operation: string, f: (client: IORedis) => Promise<A>) =>
      Effect.tryPromise({
        try: () => f(client),
        catch: (cause) => new RedisError({ operation, message: `Redis ${operation}: ${messageOf(cause)}`, cause })
      })
    return Redis.of({
      client,
      url: displayUrl(options.url),
      keyPrefix,
      key: (name) => `${keyPrefix}${name}`,
      use,
      eval: (s, keys, args) =>
        use("eval", (c) => {
          const params: [number, ...Array<string | number>] = [keys.length, ...keys, ...args]
          return c.evalsha(s.sha, ...params).catch((cause: unknown) =>
            messageOf(cause).startsWith("NOSCRIPT") ? c.eval(s.lua, ...params) : Promise.reject(cause)
          )
        }),
      subscribe: (channel) =>
        Effect.gen(function*() {
          const connection = yield* connect(options)
          const messages = yield* Effect.acquireRelease(Queue.unbounded<string>(), Queue.shutdown)
          yield* Effect.sync(() =>
            connection.on("message", (from: string, message: string) => {
              if (from === channel) Queue.unsafeOffer(messages, message)
            })
          )
          yield* Effect.tryPromise({
            try: () => connection.subscribe(channel),
            catch: (cause) =>
              new RedisError({
                operation: "subscribe",
                message: `Redis subscribe ${channel}: ${messageOf(cause)}`,
                cause
              })
          })
          return messages
        })
    })
  })

/** A layer connected to Redis at `url`; building it fails with `RedisUnavailable` when Redis cannot be reached. */
export const layer = (options: Options): Layer.Layer<Redis, RedisUnavailable> => Layer.scoped(Redis, make(options))
