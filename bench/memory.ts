// Memory store throughput: claim+complete cycles and replays per second, sequential and with
// 64 operations in flight. Run: npx tsx bench/memory.ts
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
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
const retention = { ttlMs: 86_400_000 };

async function claimAndComplete(store: IdempotencyStore, key: IdempotencyKey): Promise<void> {
  const result = await store.tryInsert(
    key,
    IdempotencyEntry.new(fingerprint, { ttlMs: leaseTtlMs }),
  );
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
  const result = await store.tryInsert(
    key,
    IdempotencyEntry.new(fingerprint, { ttlMs: leaseTtlMs }),
  );
  if (result.kind !== "exists" || result.existing.state !== "completed") {
    throw new Error("expected a completed entry");
  }
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
export async function runMemoryBench(operations = 500_000, rounds = 5): Promise<string> {
  const rows: string[] = [];
  for (const concurrency of [1, 64]) {
    const cycles: number[] = [];
    const replays: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const store = new MemoryStore({ sweepIntervalMs: 0 });
      const keys = Array.from({ length: operations }, () => IdempotencyKey.random());
      cycles.push(await measure(keys, concurrency, (key) => claimAndComplete(store, key)));
      replays.push(await measure(keys, concurrency, (key) => replay(store, key)));
      await store.close();
    }
    rows.push(
      `| ${concurrency} | ${formatCount(median(cycles))} | ${formatCount(median(replays))} |`,
    );
  }
  return [
    "## Memory store",
    "",
    `Median of ${rounds} rounds of ${formatCount(operations)} fresh keys each; a cycle is tryInsert + complete, a replay is a tryInsert that finds the completed entry.`,
    "",
    "| operations in flight | claim+complete cycles/s | replays/s |",
    "| ---: | ---: | ---: |",
    ...rows,
    "",
    describeEnvironment(),
    "",
  ].join("\n");
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const report = await runMemoryBench();
  console.log(report);
  writeFileSync(new URL("results/memory.md", import.meta.url), report);
}
