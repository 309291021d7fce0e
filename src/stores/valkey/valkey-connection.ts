/** An argument of a script or command: text, or raw bytes. */
export type CommandArgument = string | Buffer;

/**
 * What the store needs from a Valkey/Redis client, adapted from `ioredis`/`iovalkey` or
 * `redis` (node-redis) by {@link toValkeyConnection}. Implement it to use another client.
 * Replies must keep bulk strings as `Buffer`s (bodies are raw bytes). Each method may take the
 * store's deadline `signal`: once it is aborted the store has given up on the reply, so a
 * command not sent yet had better be dropped (node-redis does; ioredis has no way to).
 *
 * @example
 * ```ts
 * const connection: ValkeyConnection = {
 *   cluster: false,
 *   evalsha: (sha, keys, args) => myClient.send(["EVALSHA", sha, String(keys.length), ...keys, ...args]),
 *   eval: (source, keys, args) => myClient.send(["EVAL", source, String(keys.length), ...keys, ...args]),
 *   command: (args) => myClient.send(args),
 * };
 * ```
 */
export interface ValkeyConnection {
  /** Whether the client spreads keys over a cluster (WAIT is then not routable). */
  readonly cluster: boolean;
  /**
   * `false` when the methods would ignore their `signal` (the client cannot withdraw a command,
   * or writes it at once): the store then passes none and spares an `AbortController` per
   * operation. Read before each operation, so it may follow the connection's state. Absent
   * means they use it.
   */
  readonly signals?: boolean;
  /** EVALSHA; rejects with the server's error, NOSCRIPT included. */
  evalsha(
    sha: string,
    keys: readonly string[],
    args: readonly CommandArgument[],
    signal?: AbortSignal,
  ): Promise<unknown>;
  /** EVAL, which also loads the script into the server's cache. */
  eval(
    source: string,
    keys: readonly string[],
    args: readonly CommandArgument[],
    signal?: AbortSignal,
  ): Promise<unknown>;
  /** Any other command (WAIT, CONFIG GET, ...) on the connection the scripts use. */
  command(args: readonly string[], signal?: AbortSignal): Promise<unknown>;
  /** For a cluster: one connection per primary, to inspect each one's configuration. */
  primaries?(): Promise<readonly ValkeyConnection[]>;
}

/** The part of an `ioredis` or `iovalkey` client (single node or `Cluster`) the store uses. */
export interface IoredisLikeClient {
  /** A command whose bulk replies stay Buffers; a Cluster routes it by its keys. */
  callBuffer(command: string, ...args: (CommandArgument | number)[]): Promise<unknown>;
  call(command: string, ...args: string[]): Promise<unknown>;
  /** Present on a Cluster: its nodes by role. */
  nodes?: (role?: "master" | "slave" | "all") => IoredisLikeClient[];
  /** The EventEmitter methods the store uses to keep `error` events from crashing the process. */
  on?(event: "error", listener: (error: Error) => void): unknown;
  listenerCount?(event: "error"): number;
}

/** Options of node-redis' EVAL/EVALSHA commands. */
export interface NodeRedisEvalOptions {
  keys: CommandArgument[];
  arguments: CommandArgument[];
}

/** The per-command options of node-redis the store sets. */
export interface NodeRedisCommandOptions {
  typeMapping?: Record<number, unknown>;
  abortSignal?: AbortSignal;
}

/** The part of a node-redis client or cluster (`redis` / `@redis/client` 5+) the store uses. */
export interface NodeRedisLikeClient {
  withTypeMapping(mapping: Record<number, unknown>): NodeRedisLikeClient;
  /** node-redis 5+: lets a deadline drop a command that is still queued. */
  withCommandOptions?(options: NodeRedisCommandOptions): NodeRedisLikeClient;
  evalSha(sha: string, options: NodeRedisEvalOptions): Promise<unknown>;
  eval(source: string, options: NodeRedisEvalOptions): Promise<unknown>;
  /** A client's `sendCommand(args)`, or a cluster's `sendCommand(firstKey, readonly, args)`. */
  sendCommand(...args: never[]): Promise<unknown>;
  /** Whether the client is connected and writes commands as they come. */
  readonly isReady?: boolean;
  /** Present on a cluster. */
  masters?: readonly unknown[];
  nodeClient?: (node: never) => unknown;
  /** The EventEmitter methods the store uses to keep `error` events from crashing the process. */
  on?(event: "error", listener: (error: Error) => void): unknown;
  listenerCount?(event: "error"): number;
}

/** Any client {@link toValkeyConnection} understands. */
export type ValkeyClient = IoredisLikeClient | NodeRedisLikeClient | ValkeyConnection;

// node-redis' RESP_TYPES.BLOB_STRING ("$"): map bulk strings to Buffers, not UTF-8 strings.
const blobString = 36;

function isConnection(client: ValkeyClient): client is ValkeyConnection {
  return "evalsha" in client && "command" in client && typeof client.cluster === "boolean";
}

function isIoredis(client: ValkeyClient): client is IoredisLikeClient {
  return typeof (client as Partial<IoredisLikeClient>).callBuffer === "function";
}

/** The number of keys as text: ioredis converts a number argument on each call. */
function keyCount(keys: readonly string[]): string {
  return keys.length === 1 ? "1" : String(keys.length);
}

// ioredis has no way to withdraw a queued command, so the signal goes unused.
function fromIoredis(client: IoredisLikeClient): ValkeyConnection {
  const cluster = typeof client.nodes === "function";
  return {
    cluster,
    signals: false,
    evalsha: (sha, keys, args) =>
      client.callBuffer("EVALSHA", sha, keyCount(keys), ...keys, ...args),
    eval: (source, keys, args) =>
      client.callBuffer("EVAL", source, keyCount(keys), ...keys, ...args),
    command: ([name = "", ...args]) => client.call(name, ...args),
    ...(cluster
      ? {
          primaries: async () => (client.nodes?.("master") ?? []).map(fromIoredis),
        }
      : {}),
  };
}

function fromNodeRedis(client: NodeRedisLikeClient): ValkeyConnection {
  const typeMapping = { [blobString]: Buffer };
  const buffers = client.withTypeMapping(typeMapping);
  // An aborted signal removes a command that still waits in node-redis' queue (e.g. while it
  // reconnects), so a deadline that passed does not leave a write to be applied later.
  const scoped = (signal: AbortSignal | undefined): NodeRedisLikeClient =>
    signal === undefined || client.withCommandOptions === undefined
      ? buffers
      : client.withCommandOptions({ typeMapping, abortSignal: signal });
  const cluster = Array.isArray(client.masters);
  const send = client.sendCommand.bind(client) as (...args: unknown[]) => Promise<unknown>;
  return {
    cluster,
    // A connected client writes a command on its next turn, and a written command cannot be
    // withdrawn: a signal is worth its cost (an AbortController and its listeners per command)
    // only while commands wait in the queue for the connection to come back. A cluster stays
    // ready while one primary's connection is down, so it always gets one.
    get signals() {
      return cluster || client.isReady !== true;
    },
    // node-redis only reads the arrays, so they are passed as they are, not copied.
    evalsha: (sha, keys, args, signal) =>
      scoped(signal).evalSha(sha, { keys: keys as string[], arguments: args as CommandArgument[] }),
    eval: (source, keys, args, signal) =>
      scoped(signal).eval(source, { keys: keys as string[], arguments: args as CommandArgument[] }),
    command: (args, signal) => {
      const options = signal === undefined ? undefined : { abortSignal: signal };
      return cluster ? send(undefined, false, [...args], options) : send([...args], options);
    },
    ...(cluster
      ? {
          primaries: async () => {
            const nodeClient = client.nodeClient?.bind(client) as
              ((node: unknown) => unknown) | undefined;
            if (nodeClient === undefined) return [];
            const primaries = await Promise.all(
              (client.masters ?? []).map(
                async (node) => (await nodeClient(node)) as NodeRedisLikeClient,
              ),
            );
            return primaries.map(fromNodeRedis);
          },
        }
      : {}),
  };
}

/**
 * Adapts a client: `ioredis`/`iovalkey` (`Redis` or `Cluster`), node-redis (`createClient` or
 * `createCluster`), or an object that already is a {@link ValkeyConnection}.
 *
 * @example
 * ```ts
 * import { Redis } from "iovalkey";
 * const connection = toValkeyConnection(new Redis("redis://127.0.0.1:6379"));
 * ```
 */
export function toValkeyConnection(client: ValkeyClient): ValkeyConnection {
  if (isConnection(client)) return client;
  if (isIoredis(client)) return fromIoredis(client);
  return fromNodeRedis(client);
}
