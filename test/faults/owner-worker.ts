// A claim owner in its own process, for the stalled-owner and crashed-worker scenarios.
// Arguments: port, key, mode (block | hang), lease ms, log file. Prints its outcome as JSON,
// with how long its side effect blocked the event loop.
import { appendFileSync } from "node:fs";
import { Redis } from "ioredis";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";

const [port, key, mode, lease, log] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const client = new Redis(Number(port), "127.0.0.1");
const idempotency = new Idempotency({
  store: new ValkeyStore({ client, prefix: "owners" }),
  leaseTtlMs: Number(lease),
});
let signal: AbortSignal | undefined;
let blockedMs = 0;
appendFileSync(log, `claiming ${Date.now()}\n`);
try {
  const outcome = await idempotency.execute(
    IdempotencyKey.parse(key),
    { operation: "POST /owner" },
    async (context) => {
      signal = context.signal;
      appendFileSync(log, `started ${process.pid} ${Date.now()}\n`);
      if (mode === "hang") await new Promise(() => undefined); // killed here
      // Block the event loop for two leases: no lease extension can run.
      const started = Date.now();
      const until = started + 2 * Number(lease);
      while (Date.now() < until) {
        // busy
      }
      blockedMs = Date.now() - started;
      return `from the stalled owner ${process.pid}`;
    },
  );
  process.stdout.write(
    JSON.stringify({ kind: outcome.kind, aborted: signal?.aborted ?? false, blockedMs }),
  );
} catch (error) {
  process.stdout.write(
    JSON.stringify({
      kind: error instanceof ClaimLostError ? "claim-lost" : String(error),
      aborted: signal?.aborted ?? false,
      blockedMs,
    }),
  );
} finally {
  client.disconnect();
}
