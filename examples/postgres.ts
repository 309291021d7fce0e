// An order service on PostgreSQL whose order row and idempotency completion commit together.
// Run: DATABASE_URL=postgres://user@host/db npm run demo (skipped when DATABASE_URL is unset).
// It creates the schema "idempotent" and a table "demo_orders" in that database.
import pg from "pg";
import { CachedResponse, Idempotency, IdempotencyKey } from "../src/index.ts";
import {
  PostgresStore,
  checkServerConfig,
  executeInTransaction,
  migrate,
  withPgTransaction,
  type PgPoolClient,
} from "../src/stores/postgres/index.ts";

const url = process.env["DATABASE_URL"];
if (url === undefined || url === "") {
  console.log("== idempotent demo: PostgreSQL skipped (set DATABASE_URL to run it) ==");
  process.exit(0);
}

const pool = new pg.Pool({ connectionString: url, max: 8 }); // business transactions
const storePool = new pg.Pool({ connectionString: url, max: 2 }); // claims, touches, replays
await migrate(storePool);
await storePool.query(
  "CREATE TABLE IF NOT EXISTS demo_orders (id text PRIMARY KEY, total int NOT NULL, token text NOT NULL)",
);
for (const finding of await checkServerConfig(storePool)) {
  console.log(
    `config ${finding.severity}: ${finding.setting} = ${finding.value}: ${finding.message}`,
  );
}
const store = new PostgresStore({ client: storePool, prefix: "demo" });
const idempotency = new Idempotency({ store, leaseTtlMs: 10_000 });

/** POST /orders: inserts the order and completes the key in one transaction. */
async function createOrder(keyText: string, total: number) {
  const key = IdempotencyKey.parse(keyText);
  return await executeInTransaction<PgPoolClient>(
    idempotency,
    key,
    { operation: "POST /orders", body: JSON.stringify({ total }) },
    (work) => withPgTransaction(pool, work),
    async ({ tx, guard }) => {
      const id = `order-${keyText}`;
      await tx.query("INSERT INTO demo_orders (id, total, token) VALUES ($1, $2, $3)", [
        id,
        total,
        guard.fencingToken.toString(),
      ]);
      return CachedResponse.from({ id, total }, { status: 201 });
    },
  );
}

const keyText = `demo-${Date.now()}`;
console.log("== idempotent demo: orders on PostgreSQL ==");
const first = await createOrder(keyText, 4200);
console.log(`1. first request: ${first.kind}`);
const [second, third] = await Promise.all([createOrder(keyText, 4200), createOrder(keyText, 4200)]);
console.log(`2. two retries: ${second.kind}, ${third.kind}`);
const other = await createOrder(keyText, 9900);
console.log(`3. same key, another body: ${other.kind}`);
const { rows } = await pool.query<{ n: number }>(
  "SELECT count(*)::int AS n FROM demo_orders WHERE id = $1",
  [`order-${keyText}`],
);
console.log(`4. order rows for the key: ${String(rows[0]?.n)} (exactly one)`);
store.close();
await Promise.all([pool.end(), storePool.end()]);
