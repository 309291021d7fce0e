// One contending process: claims the same keys as its siblings, 64 at a time, and appends
// each key whose side effect it ran to its own log. Run by contention.test.ts.
import { appendFileSync } from "node:fs";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ClientFamily } from "../servers/clients.ts";

const [port, family, keyCount, concurrency, startAt, log, worker] = process.argv.slice(2);
const connected = await connect(family as ClientFamily, Number(port));
const idempotency = new Idempotency({
  store: new ValkeyStore({ client: connected.client, prefix: "contention" }),
});
const keys = Array.from({ length: Number(keyCount) }, (_, index) =>
  IdempotencyKey.parse(`key-${index}`),
);
const counts = { executed: 0, replayed: 0, "in-flight": 0, "fingerprint-mismatch": 0 };
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++] as IdempotencyKey;
      const outcome = await idempotency.execute(key, { operation: "POST /contention" }, () => {
        // The log is written by the side effect itself, before anything can be cached.
        appendFileSync(log as string, `${key.value}\n`);
        return { worker: worker ?? "" };
      });
      counts[outcome.kind]++;
    }
  }),
);
await connected.close();
process.stdout.write(JSON.stringify(counts));
