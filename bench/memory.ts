// Memory store throughput: claim+complete cycles and replays per second, sequential and with
// 64 operations in flight. Run: npm run bench -- memory
import {
  CachedResponse,
  DefaultFingerprintStrategy,
  IdempotencyEntry,
  IdempotencyKey,
  type IdempotencyStore,
} from "../src/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { describeEnvironment, formatCount, median } from "./environment.ts";

const fingerprint = DefaultFingerprintStrategy.compute("POST /orders", '{"sku":42,"quantity":1}');
const response = CachedResponse.from({ id: 42, status: "created" }, { status: 201 });
const leaseTtlMs = 30_000;
const retention = { retentionTtlMs: 86_400_000 };

async function claimAndComplete(store: IdempotencyStore, key: IdempotencyKey): Promise<void> {
  const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint), {
    leaseTtlMs,
  });
  if (result.kind !== "claimed") throw new Error("benchmark keys must be fresh");
  const outcome = await store.complete(
    key,
    result.entry.complete(response),
    result.fencingToken,
    retention,
  );
  if (outcome.kind !== "applied") throw new Error(`completion ${outcome.kind}`);
}

async function replay(store: IdempotencyStore, key: IdempotencyKey): Promise<void> {
  const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint), {
    leaseTtlMs,
  });
  if (result.kind !== "exists" || result.entry.state !== "completed") {
    throw new Error("expected a completed entry");
  }
}

/**
 * The floor: the least any map-backed store must do per cycle (an async insert of a fresh key
 * and an async update of it), with none of the contract's checks.
 */
function floorStore(): {
  claim: (key: IdempotencyKey) => Promise<void>;
  replay: (key: IdempotencyKey) => Promise<void>;
} {
  const records = new Map<string, { state: number; expiresAt: number }>();
  const insert = async (id: string) => {
    records.set(id, { state: 0, expiresAt: Date.now() + leaseTtlMs });
  };
  const complete = async (id: string) => {
    const record = records.get(id);
    if (record !== undefined) record.state = 1;
  };
  return {
    claim: async (key) => {
      await insert(key.value);
      await complete(key.value);
    },
    replay: async (key) => {
      await Promise.resolve(records.get(key.value));
    },
  };
}

/** Operations per second of `operation` over `keys`, `concurrency` at a time. */
async function measure(
  keys: readonly IdempotencyKey[],
  concurrency: number,
  operation: (key: IdempotencyKey) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < keys.length) await operation(keys[next++] as IdempotencyKey);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return keys.length / seconds;
}

/** Runs the memory store benchmark and returns its markdown report. */
export async function runMemoryBench(rounds = 5): Promise<string> {
  const rows: string[] = [];
  for (const keyCount of [10_000, 300_000]) {
    for (const concurrency of [1, 64]) {
      const results = {
        cycles: [] as number[],
        replays: [] as number[],
        floorCycles: [] as number[],
        floorReplays: [] as number[],
      };
      for (let round = 0; round < rounds; round++) {
        // Interleaved in one round so both see the same machine state. Unbounded: a round holds
        // 300 000 keys, more than the default maxEntries.
        const store = new MemoryStore({
          sweepIntervalMs: 0,
          maxEntries: Number.POSITIVE_INFINITY,
          maxBytes: Number.POSITIVE_INFINITY,
        });
        const keys = Array.from({ length: keyCount }, () => IdempotencyKey.random());
        results.cycles.push(
          await measure(keys, concurrency, (key) => claimAndComplete(store, key)),
        );
        results.replays.push(await measure(keys, concurrency, (key) => replay(store, key)));
        await store.close();
        const floor = floorStore();
        const floorKeys = Array.from({ length: keyCount }, () => IdempotencyKey.random());
        results.floorCycles.push(await measure(floorKeys, concurrency, floor.claim));
        results.floorReplays.push(await measure(floorKeys, concurrency, floor.replay));
      }
      const cycles = median(results.cycles);
      const replays = median(results.replays);
      const floorCycles = median(results.floorCycles);
      const floorReplays = median(results.floorReplays);
      rows.push(
        `| ${formatCount(keyCount)} | ${concurrency} | ${formatCount(cycles)} | ${formatCount(floorCycles)} | ${(cycles / floorCycles).toFixed(2)} | ${formatCount(replays)} | ${formatCount(floorReplays)} | ${(replays / floorReplays).toFixed(2)} |`,
      );
    }
  }
  return [
    "## Memory store",
    "",
    `Median of ${rounds} rounds, each on fresh keys held until the round ends (as a retention window would). A cycle is tryInsert + complete; a replay is a tryInsert that finds the completed entry. The floor is a bare \`Map\` doing an async insert and an async update of the same fresh keys (a replay: an async get), with none of the contract's checks; the ratio is store / floor in the same run.`,
    "",
    "| keys held | in flight | cycles/s | floor cycles/s | ratio | replays/s | floor replays/s | ratio |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    describeEnvironment(),
    "",
  ].join("\n");
}
