// One chaos worker for postgres-chaos.test.ts: 32 claimers over the same keys as its siblings,
// each key through executeInTransaction on pg (claim in autocommit, then BEGIN; business INSERT;
// completeIn; COMMIT). It may be SIGKILLed at any moment, its backends terminated, or the server
// restarted; it retries every key until it has seen all of them completed, then prints its
// counters as JSON. Each acknowledged completion (the runner resolved: COMMIT acknowledged) is
// printed as "ack <key> <token>" the moment it happens.
import pg from "pg";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import {
  PostgresStore,
  executeInTransaction,
  guardPgPool,
  withPgTransaction,
  type PgPoolClient,
} from "../../src/stores/postgres/index.ts";

const [url, keyCountText, concurrencyText, leaseText, worker] = process.argv.slice(2);
const keyCount = Number(keyCountText);
const leaseTtlMs = Number(leaseText);
const applicationName = `chaos-worker-${worker ?? "0"}`;
// Business transactions and the store's own statements (claims, touches, releases) use
// separate pools, so a saturated transaction pool cannot starve the lease keeper.
// Deadlines on the business side too: a connection attempt or a statement that gets no answer
// (the server is restarting) fails instead of holding a claim forever.
const poolOptions = {
  connectionString: url,
  application_name: applicationName,
  connectionTimeoutMillis: 5000,
  query_timeout: 10_000,
};
const txPool = new pg.Pool({ ...poolOptions, max: 12 });
const storePool = new pg.Pool({ ...poolOptions, max: 4 });
guardPgPool(txPool);
guardPgPool(storePool);
const store = new PostgresStore({ client: storePool, prefix: "chaos", operationTimeoutMs: 5000 });
const idempotency = new Idempotency({ store, leaseTtlMs });

const counters: Record<string, number> = {
  executed: 0,
  replayed: 0,
  "in-flight": 0,
  "fingerprint-mismatch": 0,
  "claim-lost": 0,
  "already-completed": 0,
  errors: 0,
};
const pending = Array.from({ length: keyCount }, (_, index) => index).sort(
  () => Math.random() - 0.5,
);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function attempt(index: number): Promise<boolean> {
  const key = IdempotencyKey.parse(`order-${index}`);
  try {
    const outcome = await executeInTransaction<PgPoolClient>(
      idempotency,
      key,
      { operation: "POST /orders" },
      (work) => withPgTransaction(txPool, work),
      async ({ tx, guard }) => {
        await tx.query("INSERT INTO effects (key, token, worker) VALUES ($1, $2, $3)", [
          key.value,
          guard.fencingToken.toString(),
          worker,
        ]);
        // Work inside the open transaction, so kills and terminations hit it.
        await sleep(10 + Math.random() * 60);
        return CachedResponse.from({ token: guard.fencingToken.toString() }, { status: 201 });
      },
    );
    counters[outcome.kind] = (counters[outcome.kind] ?? 0) + 1;
    if (outcome.kind === "executed") {
      const { token } = JSON.parse(new TextDecoder().decode(outcome.response.body)) as {
        token: string;
      };
      process.stdout.write(`ack ${key.value} ${token}\n`);
    }
    return outcome.kind === "executed" || outcome.kind === "replayed";
  } catch (error) {
    const name = (error as { alreadyCompleted?: boolean; name?: string } | null) ?? {};
    const counter =
      name.alreadyCompleted === true
        ? "already-completed"
        : name.name === "ClaimLostError"
          ? "claim-lost"
          : "errors";
    counters[counter] = (counters[counter] ?? 0) + 1;
    return false;
  }
}

await Promise.all(
  Array.from({ length: Number(concurrencyText) }, async () => {
    for (;;) {
      const index = pending.shift();
      if (index === undefined) return;
      if (await attempt(index)) continue;
      await sleep(50 + Math.random() * 200);
      pending.push(index);
    }
  }),
);
process.stdout.write(`${JSON.stringify(counters)}\n`);
// A connection the crash left checked out would keep pool.end() waiting: exit instead.
process.exit(0);
