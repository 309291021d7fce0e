// What `Idempotency.execute` costs over the store calls it makes: execute with a side effect
// that returns at once, against the same store's bare tryInsert + complete, on the memory store
// and on a redis-server this benchmark starts (ioredis). Run: npm run bench -- execute
import { Redis } from "ioredis";
import {
  CachedResponse,
  DefaultFingerprintStrategy,
  Idempotency,
  IdempotencyEntry,
  IdempotencyKey,
  type IdempotencyStore,
} from "../src/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { ValkeyStore } from "../src/stores/valkey/index.ts";
import { startServer } from "../test/servers/redis-server.ts";
import { describeEnvironment, formatCount, median } from "./environment.ts";

const fingerprint = DefaultFingerprintStrategy.compute("POST /orders", '{"sku":42}');
const request = { fingerprint };
const response = CachedResponse.from({ id: 42, status: "created" }, { status: 201 });
const leaseTtlMs = 30_000;
const retentionTtlMs = 600_000;
const lease = { leaseTtlMs };
const retention = { retentionTtlMs };
const concurrency = 64;

/** The floor: the store calls `execute` makes for a fresh key, with nothing around them. */
async function bareCycle(store: IdempotencyStore, key: IdempotencyKey): Promise<void> {
  const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease);
  if (result.kind !== "claimed") throw new Error("keys must be fresh");
  const outcome = await store.complete(
    key,
    result.entry.complete(response),
    result.fencingToken,
    retention,
  );
  if (outcome.kind !== "applied") throw new Error(`completion ${outcome.kind}`);
}

function executeCycle(store: IdempotencyStore): (key: IdempotencyKey) => Promise<void> {
  const idempotency = new Idempotency({ store, leaseTtlMs, retentionTtlMs });
  const sideEffect = () => response;
  return async (key) => {
    const outcome = await idempotency.execute(key, request, sideEffect);
    if (outcome.kind !== "executed") throw new Error(`expected executed, got ${outcome.kind}`);
  };
}

interface Rate {
  /** Operations per second, wall clock. */
  readonly perSecond: number;
  /** CPU time of this process per operation, in microseconds: less skewed by a busy machine. */
  readonly cpuUs: number;
}

async function rate(
  keys: readonly IdempotencyKey[],
  operation: (key: IdempotencyKey) => Promise<void>,
): Promise<Rate> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) await operation(keys[next++] as IdempotencyKey);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  return { perSecond: keys.length / seconds, cpuUs: (user + system) / keys.length };
}

interface Subject {
  readonly store: string;
  readonly keys: number;
  /** A fresh store for one measurement, and its release. */
  open(): Promise<{ store: IdempotencyStore; close: () => Promise<void> }>;
}

/** Runs the execute-overhead benchmark and returns its markdown report. */
export async function runExecuteBench(rounds = 5): Promise<string> {
  const server = await startServer({ binary: "redis-server" });
  const client = new Redis(server.port, "127.0.0.1");
  let prefix = 0;
  const subjects: Subject[] = [
    {
      store: "MemoryStore",
      keys: 100_000,
      open: async () => {
        const store = new MemoryStore({
          sweepIntervalMs: 0,
          maxEntries: Number.POSITIVE_INFINITY,
          maxBytes: Number.POSITIVE_INFINITY,
        });
        return { store, close: () => store.close() };
      },
    },
    {
      store: "ValkeyStore (ioredis, redis-server on loopback)",
      keys: 20_000,
      open: async () => {
        const store = new ValkeyStore({ client, prefix: `bench-exec-${++prefix}` });
        return { store, close: async () => undefined };
      },
    },
  ];
  const results = new Map<string, { bare: Rate[]; execute: Rate[] }>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const subject of subjects) {
        const entry = results.get(subject.store) ?? { bare: [], execute: [] };
        results.set(subject.store, entry);
        // Alternate which goes first, so neither always runs on a warmer or emptier machine.
        const order =
          round % 2 === 0 ? (["bare", "execute"] as const) : (["execute", "bare"] as const);
        for (const kind of order) {
          const { store, close } = await subject.open();
          const keys = Array.from({ length: subject.keys }, () => IdempotencyKey.random());
          const cycle =
            kind === "bare" ? (key: IdempotencyKey) => bareCycle(store, key) : executeCycle(store);
          entry[kind].push(await rate(keys, cycle));
          await close();
        }
      }
      await client.flushall();
    }
  } finally {
    client.disconnect();
    await server.stop();
  }
  const rows = subjects.map(({ store, keys }) => {
    const { bare, execute } = results.get(store) ?? { bare: [], execute: [] };
    const rate = (rates: Rate[]) => median(rates.map(({ perSecond }) => perSecond));
    const cpu = (rates: Rate[]) => median(rates.map(({ cpuUs }) => cpuUs));
    const perRound = execute.map((value, i) =>
      (value.perSecond / (bare[i]?.perSecond ?? value.perSecond)).toFixed(2),
    );
    return `| ${store} | ${formatCount(keys)} | ${formatCount(rate(bare))} | ${formatCount(rate(execute))} | ${(rate(execute) / rate(bare)).toFixed(2)} | ${perRound.join(" ")} | ${cpu(bare).toFixed(2)} | ${cpu(execute).toFixed(2)} | ${(cpu(bare) / cpu(execute)).toFixed(2)} |`;
  });
  return [
    "## `Idempotency.execute` over the bare store calls",
    "",
    `${concurrency} in flight, fresh keys, median of ${rounds} interleaved rounds (bare and execute alternate which runs first; a fresh store each). **Floor:** the store's own \`tryInsert\` + \`complete\` for a fresh key (the two calls \`execute\` makes), with a precomputed fingerprint and response and nothing around them. **Subject:** \`execute\` with the same fingerprint and a side effect that returns the same response at once; it adds the claim guard, lease keeping and outcome objects. Ratio = execute / floor in cycles per second; the CPU ratio is floor / execute in this process's CPU time per cycle (redis-server's not counted), which a busy machine skews less.`,
    "",
    "| store | keys per measurement | floor cycles/s | execute cycles/s | ratio | ratio per round | floor CPU µs/cycle | execute CPU µs/cycle | CPU ratio |",
    "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ...rows,
    "",
    describeEnvironment(["ioredis"]),
    "",
  ].join("\n");
}
