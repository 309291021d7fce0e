import type { IoredisLikeClient, ValkeyClient } from "./valkey-connection.ts";

/**
 * The listener {@link guardClientErrors} attaches. Errors need no handling here: each one that
 * breaks a store operation also rejects that operation with a typed error.
 */
function ignoreClientError(): void {
  // Deliberately empty: see above.
}

/**
 * Attaches a listener to `client`'s `error` event when it has none. An EventEmitter throws an
 * `error` event nobody listens to, so a node-redis client without a listener crashes the process
 * on its first lost connection (ioredis and iovalkey log every reconnection failure instead).
 * Returns whether a listener was attached. A client that is no EventEmitter is left alone.
 *
 * @example
 * ```ts
 * const client = await createClient({ url }).connect();
 * guardClientErrors(client); // true: a dropped connection no longer crashes the process
 * ```
 */
export function guardClientErrors(client: ValkeyClient): boolean {
  // Both client families declare the same optional EventEmitter methods.
  const emitter = client as Pick<IoredisLikeClient, "on" | "listenerCount">;
  if (emitter.on === undefined || emitter.listenerCount === undefined) return false;
  if (emitter.listenerCount("error") > 0) return false;
  emitter.on("error", ignoreClientError);
  return true;
}
