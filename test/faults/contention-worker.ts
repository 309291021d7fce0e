// One contending process: claims the same keys as its siblings, 64 at a time, and appends
// each key whose side effect it ran to its own log. Run by contention.test.ts, which holds
// every process at a barrier: each says "ready" on stdout once connected and starts claiming
// when "go" arrives on stdin, so all of them claim together however late each one started.
import { appendFileSync } from "node:fs";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ClientFamily } from "../servers/clients.ts";

const [port, family, keyCount, concurrency, sideEffectMs, log, worker] = process.argv.slice(2);
const connected = await connect(family as ClientFamily, Number(port));
const idempotency = new Idempotency({
  store: new ValkeyStore({ client: connected.client, prefix: "contention" }),
});
const keys = Array.from({ length: Number(keyCount) }, (_, index) =>
  IdempotencyKey.parse(`key-${index}`),
);
const counts = { executed: 0, replayed: 0, "in-flight": 0, "fingerprint-mismatch": 0 };
// A first command on the connection, so "ready" means the client can reach the server.
await new ValkeyStore({ client: connected.client, prefix: "contention" }).get(
  IdempotencyKey.parse("warm-up"),
);
process.stdout.write("ready\n");
await new Promise<void>((resolve) => {
  process.stdin.on("data", (chunk: Buffer) => {
    if (chunk.toString().includes("go")) resolve();
  });
});
process.stdin.pause();
let next = 0;
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++] as IdempotencyKey;
      const outcome = await idempotency.execute(
        key,
        { operation: "POST /contention" },
        async () => {
          // The log is written by the side effect itself, before anything can be cached.
          appendFileSync(log as string, `${key.value}\n`);
          // A side effect that takes a moment, as a real one does: siblings meet its claim.
          await new Promise((resolve) => setTimeout(resolve, Number(sideEffectMs)));
          return { worker: worker ?? "" };
        },
      );
      counts[outcome.kind]++;
    }
  }),
);
await connected.close();
process.stdout.write(`${JSON.stringify(counts)}\n`);
