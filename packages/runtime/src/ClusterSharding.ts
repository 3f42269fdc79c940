/**
 * The @effect/cluster membership of a process: a runner (a `gleitzeit node`, hosting entities and listening on a
 * socket) or a client-only member (`gleitzeit submit`, `status`, `cancel`…), both over the SQL storage of the
 * PostgreSQL database they share.
 *
 * The library's timings are tuned so that a dead node's shards move within seconds rather than the default ~35 s:
 * shard locks are PostgreSQL advisory locks (a killed process's connection drops and frees them at once), runners are
 * health-checked every 2 s (a dead one fails six pings 0.5 s apart; a busy one still answers within the 10 s ping
 * timeout, so shards do not flap), assignments are refreshed every second and unprocessed persisted messages are
 * polled every second.
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import type { Sharding } from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import { NodeClusterSocket } from "@effect/platform-node"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type { SqlClient } from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/** A host and port. */
export interface Address {
  readonly host: string
  readonly port: number
}

/** Parses `host:port` (IPv6 hosts in brackets). */
export const parseAddress = (text: string): Option.Option<Address> => {
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(text.trim())
  if (match === null) return Option.none()
  const port = Number(match[2])
  return match[1] === "" || port > 65535 ? Option.none() : Option.some({ host: match[1]!, port })
}

/** A node that cannot listen on its address (in use, not local). */
export class ListenError extends Schema.TaggedError<ListenError>("@gleitzeit/ListenError")("ListenError", {
  address: Schema.String,
  message: Schema.String
}) {}

/** The membership's timings; the defaults fail a dead node over in seconds. */
export interface Tuning {
  readonly shardsPerGroup: number
  readonly shardLockRefreshInterval: Duration.DurationInput
  readonly shardLockExpiration: Duration.DurationInput
  readonly runnerHealthCheckInterval: Duration.DurationInput
  readonly refreshAssignmentsInterval: Duration.DurationInput
  readonly entityMessagePollInterval: Duration.DurationInput
  /** How long a stopping node lets in-flight attempts finish before they are handed over. */
  readonly drainTimeout: Duration.DurationInput
  /**
   * After draining, how long entities may take to stop. Drained runs wait unanswered for this interruption, which
   * hands them over, so it is short.
   */
  readonly terminationTimeout: Duration.DurationInput
}

/** The tuned defaults. */
export const defaultTuning: Tuning = {
  shardsPerGroup: 300,
  shardLockRefreshInterval: Duration.seconds(2),
  shardLockExpiration: Duration.seconds(6),
  runnerHealthCheckInterval: Duration.seconds(2),
  refreshAssignmentsInterval: Duration.seconds(1),
  entityMessagePollInterval: Duration.seconds(1),
  drainTimeout: Duration.seconds(20),
  terminationTimeout: Duration.seconds(1)
}

/** How a process takes part in the cluster. */
export type Membership =
  | {
    readonly _tag: "Runner"
    /** The address other members reach this node on. */
    readonly advertise: Address
    /** The address to listen on (default: the advertised one). */
    readonly listen?: Address | undefined
  }
  | { readonly _tag: "Client" }

const config = (membership: Membership, tuning: Tuning): ShardingConfig.ShardingConfig["Type"] => ({
  ...ShardingConfig.defaults,
  runnerAddress: membership._tag === "Runner"
    ? Option.some(RunnerAddress.make(membership.advertise.host, membership.advertise.port))
    : Option.none(),
  runnerListenAddress: membership._tag === "Runner" && membership.listen !== undefined
    ? Option.some(RunnerAddress.make(membership.listen.host, membership.listen.port))
    : Option.none(),
  shardsPerGroup: tuning.shardsPerGroup,
  shardLockRefreshInterval: tuning.shardLockRefreshInterval,
  shardLockExpiration: tuning.shardLockExpiration,
  runnerHealthCheckInterval: tuning.runnerHealthCheckInterval,
  refreshAssignmentsInterval: tuning.refreshAssignmentsInterval,
  entityMessagePollInterval: tuning.entityMessagePollInterval,
  entityTerminationTimeout: tuning.terminationTimeout,
  // Entities on this node are called without a serialization round trip.
  simulateRemoteSerialization: false
})

/**
 * The storage layers create their tables at start; nodes starting at once on an empty database can collide doing
 * so, and the loser simply tries again (the tables exist by then).
 */
const firstStart = Schedule.intersect(Schedule.recurs(5), Schedule.spaced("200 millis"))

/** Retries a storage layer's start; its migrations die rather than fail, so defects are retried too. */
const retryFirstStart = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, never, R> =>
  layer.pipe(
    Layer.catchAllCause((cause) => Layer.fail(cause)),
    Layer.retry(firstStart),
    Layer.catchAll((cause) => Layer.failCause(cause)),
    Layer.orDie
  )

/**
 * The membership layer (needs the shared SqlClient). The configuration is given explicitly, never read from the
 * environment: the library's own environment reader would take unprefixed names such as `HOST` and `PORT`.
 */
export const layer = (
  membership: Membership,
  tuning: Tuning = defaultTuning
): Layer.Layer<Sharding, ListenError, SqlClient> => {
  const members = membership._tag === "Runner"
    ? SocketRunner.layer.pipe(
      Layer.provide(
        NodeClusterSocket.layerSocketServer.pipe(Layer.mapError((error) => {
          const at = membership.listen ?? membership.advertise
          const reason = (error.cause as { message?: unknown } | undefined)?.message
          return new ListenError({
            address: `${at.host}:${at.port}`,
            message: `cannot listen on ${at.host}:${at.port}: ${typeof reason === "string" ? reason : error.reason}`
          })
        }))
      ),
      Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc)))
    )
    : SocketRunner.layerClientOnly
  return members.pipe(
    Layer.provide(NodeClusterSocket.layerClientProtocol),
    Layer.provide(retryFirstStart(SqlMessageStorage.layer)),
    Layer.provide(retryFirstStart(SqlRunnerStorage.layer)),
    Layer.provide(ShardingConfig.layer(config(membership, tuning))),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.catchAllCause((cause) => {
      const failure = Cause.failureOption(cause)
      return Option.isSome(failure) && failure.value instanceof ListenError
        ? Layer.fail(failure.value)
        : Layer.die(Cause.squash(cause))
    })
  )
}
