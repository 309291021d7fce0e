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

interface FloorRecord {
  state: "processing" | "completed";
  readonly token: number;
  expiresAt: number;
  response: CachedResponse | undefined;
}

type FloorInsert =
  | { readonly kind: "claimed"; readonly token: number }
  | { readonly kind: "exists"; readonly record: FloorRecord };

/**
 * The floor: a bare async `Map` doing the job of a cycle with nothing else (no key or entry
 * validation, no fingerprint, no byte or entry bounds, no expiry index): a claim looks the key
 * up, checks expiry, inserts a record with a new token and returns a result object; a
 * completion looks it up, checks expiry and the token, marks it completed with the response
 * and returns a result object. A replay looks up, checks expiry and returns a result object.
 */
function floorStore(): {
  claim: (key: IdempotencyKey) => Promise<void>;
  replay: (key: IdempotencyKey) => Promise<void>;
} {
  const records = new Map<string, FloorRecord>();
  let lastToken = 0;
  const insert = async (id: string): Promise<FloorInsert> => {
    const now = Date.now();
    const existing = records.get(id);
    if (existing !== undefined && existing.expiresAt > now) {
      return { kind: "exists", record: existing };
    }
    const token = ++lastToken;
    records.set(id, {
      state: "processing",
      token,
      expiresAt: now + leaseTtlMs,
      response: undefined,
    });
    return { kind: "claimed", token };
  };
  const complete = async (id: string, token: number): Promise<{ readonly kind: string }> => {
    const now = Date.now();
    const record = records.get(id);
    if (record === undefined || record.expiresAt <= now) return { kind: "key-expired" };
    if (record.token !== token) return { kind: "fencing-mismatch" };
    record.state = "completed";
    record.response = response;
    record.expiresAt = now + retention.retentionTtlMs;
    return { kind: "applied" };
  };
  return {
    claim: async (key) => {
      const result = await insert(key.value);
      if (result.kind !== "claimed") throw new Error("benchmark keys must be fresh");
      const outcome = await complete(key.value, result.token);
      if (outcome.kind !== "applied") throw new Error(`completion ${outcome.kind}`);
    },
    replay: async (key) => {
      const result = await insert(key.value);
      if (result.kind !== "exists" || result.record.state !== "completed") {
        throw new Error("expected a completed entry");
      }
    },
  };
}

interface Rate {
  /** Operations per second, wall clock. */
  readonly perSecond: number;
  /** CPU time of this process per operation, in microseconds: less skewed by a busy machine. */
  readonly cpuUs: number;
}

/** Rate of `operation` over `keys`, `concurrency` at a time. */
async function measure(
  keys: readonly IdempotencyKey[],
  concurrency: number,
  operation: (key: IdempotencyKey) => Promise<void>,
): Promise<Rate> {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const worker = async () => {
    while (next < keys.length) await operation(keys[next++] as IdempotencyKey);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  return { perSecond: keys.length / seconds, cpuUs: (user + system) / keys.length };
}

interface Series {
  cycles: Rate[];
  replays: Rate[];
}

/** One subject's cycles then replays over fresh keys. */
async function runSubject(
  series: Series,
  keyCount: number,
  concurrency: number,
  subject: () => {
    claim: (key: IdempotencyKey) => Promise<void>;
    replay: (key: IdempotencyKey) => Promise<void>;
    close: () => Promise<void>;
  },
): Promise<void> {
  const { claim, replay, close } = subject();
  const keys = Array.from({ length: keyCount }, () => IdempotencyKey.random());
  series.cycles.push(await measure(keys, concurrency, claim));
  series.replays.push(await measure(keys, concurrency, replay));
  await close();
}

function storeSubject() {
  // Unbounded: a round holds 300 000 keys, more than the default maxEntries.
  const store = new MemoryStore({
    sweepIntervalMs: 0,
    maxEntries: Number.POSITIVE_INFINITY,
    maxBytes: Number.POSITIVE_INFINITY,
  });
  return {
    claim: (key: IdempotencyKey) => claimAndComplete(store, key),
    replay: (key: IdempotencyKey) => replay(store, key),
    close: () => store.close(),
  };
}

function floorSubject() {
  return { ...floorStore(), close: async () => undefined };
}

/** Runs the memory store benchmark and returns its markdown report. */
export async function runMemoryBench(rounds = 5): Promise<string> {
  const rows: string[] = [];
  // Warm-up, not counted: the first measurements would otherwise include compiling the code.
  for (const concurrency of [1, 64]) {
    const discarded: Series = { cycles: [], replays: [] };
    await runSubject(discarded, 20_000, concurrency, storeSubject);
    await runSubject(discarded, 20_000, concurrency, floorSubject);
  }
  for (const keyCount of [10_000, 300_000]) {
    for (const concurrency of [1, 64]) {
      const store: Series = { cycles: [], replays: [] };
      const floor: Series = { cycles: [], replays: [] };
      for (let round = 0; round < rounds; round++) {
        // Side by side in one round, alternating which goes first, so both see the same
        // machine state.
        if (round % 2 === 0) {
          await runSubject(store, keyCount, concurrency, storeSubject);
          await runSubject(floor, keyCount, concurrency, floorSubject);
        } else {
          await runSubject(floor, keyCount, concurrency, floorSubject);
          await runSubject(store, keyCount, concurrency, storeSubject);
        }
      }
      const perSecond = (rates: Rate[]) => median(rates.map((rate) => rate.perSecond));
      const cpuUs = (rates: Rate[]) => median(rates.map((rate) => rate.cpuUs));
      const cells = (field: keyof Series) => {
        const subject = perSecond(store[field]);
        const bare = perSecond(floor[field]);
        const cpuRatio = cpuUs(floor[field]) / cpuUs(store[field]);
        return `${formatCount(subject)} | ${formatCount(bare)} | ${(subject / bare).toFixed(2)} | ${cpuUs(store[field]).toFixed(2)} / ${cpuUs(floor[field]).toFixed(2)} | ${cpuRatio.toFixed(2)}`;
      };
      rows.push(
        `| ${formatCount(keyCount)} | ${concurrency} | ${cells("cycles")} | ${cells("replays")} |`,
      );
    }
  }
  return [
    "## Memory store",
    "",
    `Median of ${rounds} rounds, each on fresh UUID keys held until the round ends (as a retention window would); store and floor run side by side in every round, alternating which goes first. A cycle is tryInsert + complete; a replay is a tryInsert that finds the completed entry.`,
    "",
    "**Floor:** a bare async `Map` doing the same job with nothing else: a claim looks the key up, checks expiry, inserts a record with a new token and returns a result object; a completion looks it up, checks expiry and the token, marks it completed with the response and returns a result object; a replay looks up, checks expiry and returns a result object. No key or entry validation, fingerprint, byte or entry bounds, or expiry index. Ratio = store / floor in operations per second; the CPU columns give this process's CPU µs per operation (store / floor) and their ratio floor / store, which a busy machine skews less.",
    "",
    "| keys held | in flight | cycles/s | floor cycles/s | ratio | CPU µs (store / floor) | CPU ratio | replays/s | floor replays/s | ratio | CPU µs (store / floor) | CPU ratio |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    describeEnvironment(),
    "",
  ].join("\n");
}
