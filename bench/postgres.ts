// PostgreSQL store benchmark: claim + transactional completion at 32 in flight against the
// bare-SQL transactional floor measured in the same run, replays with and without readFirst,
// and the same claim + complete cycle on the Valkey store. In-process load, like the Valkey
// benchmark; the server is started for the run (initdb + pg_ctl on a free port).
import pg from "pg";
import { Redis } from "iovalkey";
import { CachedResponse } from "../src/core/cached-response.ts";
import { Fingerprint } from "../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../src/core/idempotency-key.ts";
import {
  PostgresStore,
  guardPgPool,
  migrate,
  withPgTransaction,
} from "../src/stores/postgres/index.ts";
import { ValkeyStore } from "../src/stores/valkey/index.ts";
import { startPostgres } from "../test/servers/postgres-server.ts";
import { startServer } from "../test/servers/redis-server.ts";
import { describeEnvironment } from "./environment.ts";

const inFlight = 32;
const cycles = 3000;
const fingerprint = Fingerprint.fromHex("0123456789abcdef0123456789abcdef");
const response = CachedResponse.from({ id: 1 }, { status: 201 });

interface Measured {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

async function measure(
  count: number,
  operation: (index: number) => Promise<void>,
): Promise<Measured> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        const index = next++;
        const at = performance.now();
        await operation(index);
        latencies.push(performance.now() - at);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { perSecond: count / seconds, p50: at(0.5), p99: at(0.99) };
}

const row = (name: string, m: Measured) =>
  `| ${name} | ${Math.round(m.perSecond).toLocaleString("en-US")} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} |`;

/** Runs the PostgreSQL benchmark and returns its markdown report. */
export async function runPostgresBench(rounds = 2): Promise<string> {
  const server = await startPostgres();
  const valkey = await startServer({ binary: "valkey-server" });
  const txPool = new pg.Pool({ connectionString: server.url, max: inFlight });
  // The store's own pool (claims, replays) and the business transactions' pool.
  const storePool = new pg.Pool({ connectionString: server.url, max: 16 });
  guardPgPool(txPool);
  guardPgPool(storePool);
  const redis = new Redis(valkey.port, "127.0.0.1");
  try {
    await migrate(storePool);
    await storePool.query("CREATE TABLE orders (key text NOT NULL, token text NOT NULL)");
    await storePool.query(
      "CREATE TABLE floor_keys (key text PRIMARY KEY, done boolean NOT NULL DEFAULT false)",
    );
    const version = String(
      (await storePool.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
        .rows[0]?.v,
    );
    const store = new PostgresStore({ client: storePool, prefix: "bench" });
    const readFirst = new PostgresStore({ client: storePool, prefix: "bench", readFirst: true });
    const valkeyStore = new ValkeyStore({ client: redis, prefix: "bench" });
    const lines: string[] = [];
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      const tag = `r${round}-${Date.now()}`;
      const keys = Array.from({ length: cycles }, (_, index) =>
        IdempotencyKey.parse(`${tag}-${index}`),
      );
      const floor = await measure(cycles, async (index) => {
        const key = `floor-${tag}-${index}`;
        await txPool.query("INSERT INTO floor_keys (key) VALUES ($1) ON CONFLICT DO NOTHING", [
          key,
        ]);
        await withPgTransaction(txPool, async (tx) => {
          await tx.query("INSERT INTO orders (key, token) VALUES ($1, $2)", [key, "1"]);
          await tx.query("UPDATE floor_keys SET done = true WHERE key = $1", [key]);
        });
      });
      const transactional = await measure(cycles, async (index) => {
        const key = keys[index] as IdempotencyKey;
        const claim = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
        if (claim.kind !== "claimed") throw new Error("expected a claim");
        await withPgTransaction(txPool, async (tx) => {
          await tx.query("INSERT INTO orders (key, token) VALUES ($1, $2)", [
            key.value,
            claim.fencingToken.toString(),
          ]);
          await store.completeIn(tx, key, claim.entry.complete(response), claim.fencingToken);
        });
      });
      const replay = await measure(cycles, async (index) => {
        const result = await store.tryInsert(
          keys[index] as IdempotencyKey,
          IdempotencyEntry.new(fingerprint),
        );
        if (result.kind !== "exists") throw new Error("expected a replay");
      });
      const replayReadFirst = await measure(cycles, async (index) => {
        const result = await readFirst.tryInsert(
          keys[index] as IdempotencyKey,
          IdempotencyEntry.new(fingerprint),
        );
        if (result.kind !== "exists") throw new Error("expected a replay");
      });
      const valkeyCycle = await measure(cycles, async (index) => {
        const key = keys[index] as IdempotencyKey;
        const claim = await valkeyStore.tryInsert(key, IdempotencyEntry.new(fingerprint));
        if (claim.kind !== "claimed") throw new Error("expected a claim");
        await valkeyStore.complete(key, claim.entry.complete(response), claim.fencingToken);
      });
      ratios.push(transactional.perSecond / floor.perSecond);
      lines.push(
        row(
          `round ${round}: floor, bare SQL: INSERT … ON CONFLICT DO NOTHING, then BEGIN; INSERT; UPDATE; COMMIT`,
          floor,
        ),
        row(
          `round ${round}: **PostgresStore: claim, then BEGIN; INSERT; completeIn; COMMIT**`,
          transactional,
        ),
        row(`round ${round}: PostgresStore replay (claim statement on a completed key)`, replay),
        row(`round ${round}: PostgresStore replay with readFirst (plain SELECT)`, replayReadFirst),
        row(`round ${round}: ValkeyStore claim + complete (iovalkey)`, valkeyCycle),
      );
    }
    const hot = (
      await storePool.query<{ upd: string; hot: string }>(
        "SELECT n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'entries'",
      )
    ).rows[0];
    return [
      "# PostgreSQL store",
      "",
      describeEnvironment(["pg", "iovalkey"]),
      `- PostgreSQL ${version} (started by the benchmark: initdb defaults, fsync and synchronous_commit on); ${valkey.binary}`,
      `- ${inFlight} operations in flight, ${cycles.toLocaleString("en-US")} fresh keys per variant and round, one process; a 16-connection pool for the claims (the floor's first INSERT uses it too) and a ${inFlight}-connection pool for the transactions`,
      "",
      "| variant | per second | p50 ms | p99 ms |",
      "| --- | --- | --- | --- |",
      ...lines,
      "",
      `Transactional store / transactional floor: ${ratios.map((ratio) => ratio.toFixed(2)).join(", ")} (target ≥ 0.7).`,
      `HOT updates of the entries table during the run: ${String(hot?.hot)} of ${String(hot?.upd)}.`,
      "",
      "Both transactional variants commit twice per cycle (the claim, then the business write with the completion); the store's claim is a CTE over a wider row. Replays without readFirst lock the row (a write); with readFirst they are a plain SELECT.",
      "",
    ].join("\n");
  } finally {
    redis.disconnect();
    await Promise.all([txPool.end(), storePool.end()]);
    await valkey.stop();
    await server.stop();
  }
}
