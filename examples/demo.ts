// A transcript of the library's guarantees on the in-memory store. Run: npm run demo
import {
  CachedResponse,
  DefaultFingerprintStrategy,
  Idempotency,
  IdempotencyEntry,
  IdempotencyKey,
} from "../src/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { delay } from "../src/utils/delay.ts";

const line = (text: string) => {
  console.log(text);
};

let chargesRun = 0;
async function chargeCard(amount: number): Promise<CachedResponse> {
  chargesRun++;
  await delay(50); // the payment network
  return CachedResponse.from({ charge: `ch_${chargesRun}`, amount }, { status: 201 });
}

await using store = new MemoryStore();
const idempotency = new Idempotency({ store, leaseTtlMs: 5_000 });
const key = IdempotencyKey.parse("order-1001-payment");
const payment = { operation: "POST /payments", body: '{"amount":4200}' };

line("== idempotent demo: payments on the in-memory store ==\n");

line(`1. First request with key "${key.value}"`);
const first = await idempotency.execute(key, payment, () => chargeCard(4200));
if (first.kind === "executed")
  line(`   executed: ${first.response.status} ${first.response.text()}`);

line("\n2. The client retries with the same key and body (say, after a timeout)");
const retry = await idempotency.execute(key, payment, () => chargeCard(4200));
if (retry.kind === "replayed")
  line(`   replayed: ${retry.response.status} ${retry.response.text()}`);

line("\n3. Two requests race on a fresh key");
const raceKey = IdempotencyKey.random();
const [a, b] = await Promise.all([
  idempotency.execute(raceKey, payment, () => chargeCard(4200)),
  delay(5).then(() => idempotency.execute(raceKey, payment, () => chargeCard(4200))),
]);
line(`   first:  ${a.kind}`);
line(`   second: ${b.kind}${b.kind === "in-flight" ? ` (retry after ${b.retryAfterMs} ms)` : ""}`);

line("\n4. The same key is reused for a different amount");
const reused = await idempotency.execute(
  key,
  { operation: "POST /payments", body: '{"amount":9900}' },
  () => chargeCard(9900),
);
line(`   ${reused.kind}: the key belongs to another request, nothing was charged`);

line("\n5. A zombie: a worker's lease expires mid-charge and another worker re-claims the key");
let now = Date.now();
await using clocked = new MemoryStore({ clock: { now: () => now } });
const zombieKey = IdempotencyKey.random();
const fingerprint = DefaultFingerprintStrategy.compute(payment.operation, payment.body);
const stale = await clocked.tryInsert(zombieKey, IdempotencyEntry.new(fingerprint), {
  leaseTtlMs: 1_000,
});
now += 1_500; // the first worker stalls past its lease
const fresh = await clocked.tryInsert(zombieKey, IdempotencyEntry.new(fingerprint), {
  leaseTtlMs: 1_000,
});
if (stale.kind === "claimed" && fresh.kind === "claimed") {
  line(`   worker A claimed with fencing token ${stale.fencingToken.toString()}`);
  line(`   worker B claimed with fencing token ${fresh.fencingToken.toString()}`);
  const late = await clocked.complete(
    zombieKey,
    stale.entry.complete(CachedResponse.from("A's response")),
    stale.fencingToken,
    { retentionTtlMs: 60_000 },
  );
  line(`   worker A completes: ${late.kind} (rejected)`);
  const applied = await clocked.complete(
    zombieKey,
    fresh.entry.complete(CachedResponse.from("B's response")),
    fresh.fencingToken,
    { retentionTtlMs: 60_000 },
  );
  line(`   worker B completes: ${applied.kind}`);
  const kept = await clocked.get(zombieKey);
  if (kept?.entry.state === "completed") line(`   stored: "${kept.entry.response.text()}"`);
}

line(`\nCharges actually run: ${chargesRun} (one per distinct payment)`);
