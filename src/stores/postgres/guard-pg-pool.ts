/** The EventEmitter surface of a `pg` Pool and its clients, structurally. */
interface Emitter {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
}

const guarded = new WeakSet<object>();

/**
 * Deliberately empty: an error that breaks a statement also rejects that statement (and the
 * store maps it to a typed error); the event itself needs no handling.
 */
function ignoreError(): void {
  // See above.
}

function isEmitter(value: unknown): value is Emitter {
  const candidate = value as Partial<Emitter> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.on === "function" &&
    typeof candidate.listenerCount === "function"
  );
}

/**
 * Makes a `pg` Pool (or Client) safe against lost connections: node-postgres emits `error` on
 * an idle client through the pool, and on a checked-out `PoolClient` on the client itself; an
 * `error` event nobody listens to crashes the process. This attaches one permanent listener to
 * the pool (when it has none) and to every client it connects (at `connect`, so a `FATAL`
 * that arrives after the failing statement already rejected is still caught). The store and
 * `withPgTransaction` call it; call it yourself on a pool you give Kysely or Drizzle. Anything
 * that is not an EventEmitter is left alone. Returns whether it attached anything.
 *
 * @example
 * ```ts
 * const pool = new pg.Pool({ connectionString });
 * guardPgPool(pool); // a terminated backend now fails its statement instead of the process
 * ```
 */
export function guardPgPool(pool: unknown): boolean {
  if (!isEmitter(pool) || guarded.has(pool)) return false;
  guarded.add(pool);
  if (pool.listenerCount("error") === 0) pool.on("error", ignoreError);
  pool.on("connect", (client: unknown) => {
    guardClient(client);
  });
  return true;
}

/**
 * Attaches one permanent `error` listener to a checked-out `pg` client, once.
 *
 * @example
 * ```ts
 * const client = await pool.connect();
 * guardClient(client);
 * ```
 */
export function guardClient(client: unknown): void {
  if (!isEmitter(client) || guarded.has(client)) return;
  guarded.add(client);
  client.on("error", ignoreError);
}
