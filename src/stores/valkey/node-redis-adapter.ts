import type {
  ScriptArgument,
  ValkeyScriptClient,
  ValkeyServerNode,
} from "./valkey-script-client.ts";

/**
 * Command options of node-redis (`redis` / `@redis/client` 5+): the store only sets
 * `typeMapping`, so bulk strings come back as Buffers.
 *
 * @example
 * ```ts
 * const options: NodeRedisCommandOptions = { typeMapping: { 36: Buffer } }; // RESP_TYPES.BLOB_STRING
 * ```
 */
export interface NodeRedisCommandOptions {
  readonly typeMapping?: Readonly<Record<number, unknown>>;
}

/**
 * The part of a node-redis client (`createClient`) the store uses. Declared here so neither
 * `redis` nor `@redis/client` is a dependency, not even for types.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * const client: NodeRedisClientLike = await createClient({ url }).connect();
 * ```
 */
export interface NodeRedisClientLike {
  sendCommand(args: readonly ScriptArgument[], options?: NodeRedisCommandOptions): Promise<unknown>;
}

/**
 * A node of a node-redis cluster, as `cluster.masters` lists it.
 *
 * @example
 * ```ts
 * const addresses = cluster.masters.map((node: NodeRedisShardNode) => node.address);
 * ```
 */
export interface NodeRedisShardNode {
  readonly address: string;
}

/**
 * The part of a node-redis cluster client (`createCluster`) the store uses.
 *
 * @example
 * ```ts
 * import { createCluster } from "redis";
 * const cluster: NodeRedisClusterLike = await createCluster({ rootNodes }).connect();
 * ```
 */
export interface NodeRedisClusterLike {
  /** Sends `args` to the node serving `firstKey` (following MOVED and ASK). */
  sendCommand(
    firstKey: ScriptArgument | undefined,
    isReadonly: boolean | undefined,
    args: readonly ScriptArgument[],
    options?: NodeRedisCommandOptions,
  ): Promise<unknown>;
  readonly masters: readonly NodeRedisShardNode[];
  nodeClient(node: NodeRedisShardNode): Promise<NodeRedisClientLike>;
}

// RESP_TYPES.BLOB_STRING ("$") of node-redis: bulk strings become Buffers, not UTF-8 strings.
const bufferReplies: NodeRedisCommandOptions = Object.freeze({
  typeMapping: Object.freeze({ 36: Buffer }),
});

function isCluster(
  client: NodeRedisClientLike | NodeRedisClusterLike,
): client is NodeRedisClusterLike {
  return "masters" in client && typeof client.nodeClient === "function";
}

function serverNode(address: string, client: NodeRedisClientLike): ValkeyServerNode {
  return { address, command: (args) => client.sendCommand(args) };
}

/**
 * Adapts a node-redis client or cluster client (`redis` / `@redis/client` 5+) for
 * {@link ValkeyStore}. Scripts go through `sendCommand` with a Buffer type mapping, the
 * client's cheapest path.
 *
 * @example
 * ```ts
 * import { createClient, createCluster } from "redis";
 * import { ValkeyStore, nodeRedisClient } from "idempotent/valkey";
 *
 * const store = new ValkeyStore({
 *   client: nodeRedisClient(await createClient({ url: process.env.REDIS_URL }).connect()),
 * });
 * const cluster = await createCluster({ rootNodes: [{ url: "redis://10.0.0.1:6379" }] }).connect();
 * const clustered = new ValkeyStore({ client: nodeRedisClient(cluster) });
 * ```
 */
export function nodeRedisClient(
  client: NodeRedisClientLike | NodeRedisClusterLike,
): ValkeyScriptClient {
  if (isCluster(client)) {
    return {
      evalsha: (sha, key, args) =>
        client.sendCommand(key, false, ["EVALSHA", sha, "1", key, ...args], bufferReplies),
      eval: (source, key, args) =>
        client.sendCommand(key, false, ["EVAL", source, "1", key, ...args], bufferReplies),
      // Routed by `key`: the same connection to its primary that ran the script.
      wait: async (key, replicas, timeoutMs) =>
        Number(
          await client.sendCommand(key, false, ["WAIT", String(replicas), String(timeoutMs)]),
        ),
      primaries: () =>
        Promise.all(
          client.masters.map(async (node) =>
            serverNode(node.address, await client.nodeClient(node)),
          ),
        ),
    };
  }
  return {
    evalsha: (sha, key, args) =>
      client.sendCommand(["EVALSHA", sha, "1", key, ...args], bufferReplies),
    eval: (source, key, args) => client.sendCommand(["EVAL", source, "1", key, ...args], bufferReplies),
    wait: async (_key, replicas, timeoutMs) =>
      Number(await client.sendCommand(["WAIT", String(replicas), String(timeoutMs)])),
    primaries: async () => [serverNode("primary", client)],
  };
}
