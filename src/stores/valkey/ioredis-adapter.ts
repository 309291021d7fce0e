import type {
  ScriptArgument,
  ValkeyScriptClient,
  ValkeyServerNode,
} from "./valkey-script-client.ts";

/**
 * The part of an `ioredis` or `iovalkey` client (`Redis` or `Cluster`) the store uses. Declared
 * here so neither package is a dependency, not even for types.
 *
 * @example
 * ```ts
 * import { Redis } from "iovalkey";
 * const client: IoredisLike = new Redis("redis://127.0.0.1:6379");
 * ```
 */
export interface IoredisLike {
  /** EVALSHA whose bulk replies stay Buffers; a Cluster routes it by its key. */
  evalshaBuffer(sha: string, numKeys: number, ...keysAndArgs: ScriptArgument[]): Promise<unknown>;
  /** EVAL whose bulk replies stay Buffers. */
  evalBuffer(source: string, numKeys: number, ...keysAndArgs: ScriptArgument[]): Promise<unknown>;
  /** Any command. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** `true` on a Cluster. */
  readonly isCluster?: boolean;
  /** A Cluster's nodes by role. */
  nodes?(role: "master"): IoredisLike[];
  /** A pipeline: on a Cluster it is sent to the node of its keys. */
  pipeline?(): unknown;
  /** Connection options; `host` and `port` name a node in findings. */
  readonly options?: { readonly host?: string | undefined; readonly port?: number | undefined };
}

/** The pipeline calls used to route WAIT to the primary of a key on a Cluster. */
interface KeyedPipeline {
  exists(key: string): KeyedPipeline;
  call(command: string, ...args: (string | number)[]): KeyedPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}

function nodeOf(client: IoredisLike): ValkeyServerNode {
  const { host = "127.0.0.1", port = 6379 } = client.options ?? {};
  return {
    address: `${host}:${port}`,
    command: ([name = "", ...args]) => client.call(name, ...args),
  };
}

/**
 * Adapts an `ioredis` or `iovalkey` client, `Redis` or `Cluster`, for {@link ValkeyStore}.
 * Scripts run through `evalshaBuffer`/`evalBuffer`, so bodies come back as Buffers.
 *
 * @example
 * ```ts
 * import { Redis, Cluster } from "ioredis"; // or "iovalkey"
 * import { ValkeyStore, ioredisClient } from "idempotent/valkey";
 *
 * const store = new ValkeyStore({ client: ioredisClient(new Redis(process.env.REDIS_URL)) });
 * const clustered = new ValkeyStore({
 *   client: ioredisClient(new Cluster([{ host: "10.0.0.1", port: 6379 }])),
 * });
 * ```
 */
export function ioredisClient(client: IoredisLike): ValkeyScriptClient {
  const cluster = client.isCluster === true;
  return {
    evalsha: (sha, key, args) => client.evalshaBuffer(sha, 1, key, ...args),
    eval: (source, key, args) => client.evalBuffer(source, 1, key, ...args),
    wait: async (key, replicas, timeoutMs) => {
      if (!cluster || client.pipeline === undefined) {
        return Number(await client.call("WAIT", replicas, timeoutMs));
      }
      // A Cluster sends a pipeline to the node of its keys; EXISTS pins it to `key`'s primary,
      // whose connection is the one that ran the script.
      const pipeline = client.pipeline() as KeyedPipeline;
      const results = await pipeline.exists(key).call("WAIT", replicas, timeoutMs).exec();
      const [error, acknowledged] = results?.[1] ?? [new Error("WAIT returned no reply"), 0];
      if (error !== null) throw error;
      return Number(acknowledged);
    },
    primaries: async () =>
      cluster && client.nodes !== undefined ? client.nodes("master").map(nodeOf) : [nodeOf(client)],
  };
}
