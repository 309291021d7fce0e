/** An argument of a script: text (sent as UTF-8) or raw bytes. */
export type ScriptArgument = string | Buffer;

/**
 * One primary server, for commands that inspect it (CONFIG GET).
 *
 * @example
 * ```ts
 * for (const node of await client.primaries()) {
 *   console.log(node.address, await node.command(["CONFIG", "GET", "maxmemory-policy"]));
 * }
 * ```
 */
export interface ValkeyServerNode {
  /** `host:port`, or a label when the client does not expose it. */
  readonly address: string;
  /** Runs one command on this server; bulk replies may be strings or Buffers. */
  command(args: readonly string[]): Promise<unknown>;
}

/**
 * What {@link ValkeyStore} needs from a Valkey/Redis client: run a script with exactly one key
 * (by SHA or by source), WAIT on the connection that served a key, and reach each primary.
 * `ioredisClient` (ioredis, iovalkey) and `nodeRedisClient` (node-redis) adapt the common
 * clients and their cluster clients; implement it to plug in another one.
 *
 * Replies must keep bulk strings as `Buffer`s (bodies are raw bytes) and integers as numbers.
 * Errors must be the client's own: the store recognizes `NOSCRIPT` and classifies the rest.
 *
 * @example
 * ```ts
 * const client: ValkeyScriptClient = {
 *   evalsha: (sha, key, args) => raw.send(["EVALSHA", sha, "1", key, ...args]),
 *   eval: (source, key, args) => raw.send(["EVAL", source, "1", key, ...args]),
 *   wait: async (_key, replicas, timeoutMs) =>
 *     Number(await raw.send(["WAIT", String(replicas), String(timeoutMs)])),
 *   primaries: async () => [{ address: "primary", command: (args) => raw.send(args) }],
 * };
 * ```
 */
export interface ValkeyScriptClient {
  /** `EVALSHA sha 1 key ...args`; rejects with the server's error, NOSCRIPT included. */
  evalsha(sha: string, key: string, args: readonly ScriptArgument[]): Promise<unknown>;
  /** `EVAL source 1 key ...args`, which also caches the script on the server. */
  eval(source: string, key: string, args: readonly ScriptArgument[]): Promise<unknown>;
  /**
   * `WAIT replicas timeoutMs` on the connection that runs the scripts of `key` (on a cluster,
   * the connection to that key's primary); resolves to the number of replicas that acknowledged.
   */
  wait(key: string, replicas: number, timeoutMs: number): Promise<number>;
  /** Every primary: the one server, or each primary of a cluster. */
  primaries(): Promise<readonly ValkeyServerNode[]>;
}
