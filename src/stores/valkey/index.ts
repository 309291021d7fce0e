/**
 * The Valkey/Redis store (also `idempotent/redis`): one server, a primary with replicas, or a
 * cluster, through ioredis, iovalkey or node-redis.
 *
 * @module idempotent/valkey
 */
export {
  ValkeyStore,
  ValkeyStore as RedisStore,
  type ValkeyStoreOptions,
  type WaitForReplicasOptions,
} from "./valkey-store.ts";
export {
  toValkeyConnection,
  type CommandArgument,
  type IoredisLikeClient,
  type NodeRedisCommandOptions,
  type NodeRedisEvalOptions,
  type NodeRedisLikeClient,
  type ValkeyClient,
  type ValkeyConnection,
} from "./valkey-connection.ts";
export {
  checkServerConfig,
  findingSeverities,
  type CheckServerConfigOptions,
  type FindingSeverity,
  type ServerConfigFinding,
} from "./check-server-config.ts";
