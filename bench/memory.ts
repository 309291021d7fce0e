// Memory store throughput: claim+complete cycles and replays per second, sequential and with
// 64 operations in flight. Run: npm run bench -- memory
import {
  CachedResponse,
  DefaultFingerprintStrategy,
  FencingToken,
  IdempotencyEntry,
  IdempotencyKey,
  type IdempotencyStore,
} from "../src/index.ts";
import { fencedOutcome, type FencedOutcome } from "../src/core/fenced-outcome.ts";
import { safeTokenValue } from "../src/core/fencing-token.ts";
import type { Completed, Processing } from "../src/core/idempotency-entry.ts";
import type { InsertResult } from "../src/core/insert-result.ts";
import type { LeaseOptions, RetentionOptions } from "../src/core/ttl.ts";
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
  entry: IdempotencyEntry;
  readonly token: number;
  expiresAt: number;
}

/**
 * The floor: the least an {@link IdempotencyStore} can do for the benchmark's calls, over a bare
 * `Map`. Driven by the same `claimAndComplete` and `replay` as the store, so the caller's work
 * (building the entries and options, checking the results) is the same on both sides, and it
 * does the job the contract asks of those calls: a claim looks the key up, checks expiry,
 * stores the given entry with a new token and answers `claimed` with a `FencingToken`, or
 * `exists` with the live entry and its expiry; a completion looks the key up, checks expiry,
 * the token and the fingerprint, and stores the completed entry for the retention. Nothing
 * else: no validation of keys, entries, tokens or TTLs (it reads only the TTLs the benchmark
 * passes), no byte or entry bounds, no expiry index, no closed state, no repeated-completion
 * case.
 */
class FloorStore implements Pick<IdempotencyStore, "tryInsert" | "complete"> {
  readonly #records = new Map<string, FloorRecord>();
  #lastToken = 0;

  // Not async, as the store's: neither awaits, so each settles a promise itself.
  tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options?: LeaseOptions,
  ): Promise<InsertResult> {
    return Promise.resolve(this.#tryInsert(key, entry, options));
  }

  complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options?: RetentionOptions,
  ): Promise<FencedOutcome> {
    return Promise.resolve(this.#complete(key, entry, fencingToken, options));
  }

  #tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options: LeaseOptions | undefined,
  ): InsertResult {
    const now = Date.now();
    const existing = this.#records.get(key.value);
    if (existing !== undefined && existing.expiresAt > now) {
      return { kind: "exists", entry: existing.entry, expiresAt: existing.expiresAt };
    }
    const token = ++this.#lastToken;
    this.#records.set(key.value, {
      entry,
      token,
      expiresAt: now + (options?.leaseTtlMs ?? leaseTtlMs),
    });
    return { kind: "claimed", fencingToken: FencingToken.from(token), entry };
  }

  #complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options: RetentionOptions | undefined,
  ): FencedOutcome {
    const now = Date.now();
    const record = this.#records.get(key.value);
    if (record === undefined || record.expiresAt <= now) return fencedOutcome["key-expired"];
    if (safeTokenValue(fencingToken) !== record.token) return fencedOutcome["fencing-mismatch"];
    if (!record.entry.fingerprint.equals(entry.fingerprint)) {
      return fencedOutcome["fingerprint-mismatch"];
    }
    record.entry = entry;
    record.expiresAt = now + (options?.retentionTtlMs ?? retention.retentionTtlMs);
    return fencedOutcome.applied;
  }
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
  // The same calls as the store's; the cast is safe: they use only tryInsert and complete.
  const store = new FloorStore() as unknown as IdempotencyStore;
  return {
    claim: (key: IdempotencyKey) => claimAndComplete(store, key),
    replay: (key: IdempotencyKey) => replay(store, key),
    close: async () => undefined,
  };
}

/**
 * What the contract's per-cycle allocations cost: cycles over a bare `Map` that add them one at
 * a time, from none (the key's token, expiry, fingerprint and response in one record; results
 * as bare values) to the whole contract (the floor above). Each step's CPU difference is what
 * a store contract without that allocation would save per cycle.
 */
interface Step {
  readonly name: string;
  readonly cycle: () => (key: IdempotencyKey) => Promise<void>;
}

interface BareRecord {
  token: number;
  expiresAt: number;
  fingerprint: typeof fingerprint;
  response: CachedResponse | undefined;
}

function bareCycle(options: {
  results: boolean;
  tokens: boolean;
  entries: boolean;
}): () => (key: IdempotencyKey) => Promise<void> {
  return () => {
    const records = new Map<
      string,
      BareRecord | { entry: IdempotencyEntry; token: number; expiresAt: number }
    >();
    let lastToken = 0;
    const claim = (id: string): unknown => {
      const now = Date.now();
      const token = ++lastToken;
      records.set(
        id,
        options.entries
          ? { entry: IdempotencyEntry.new(fingerprint), token, expiresAt: now + leaseTtlMs }
          : { token, expiresAt: now + leaseTtlMs, fingerprint, response: undefined },
      );
      const handed = options.tokens ? FencingToken.from(token) : token;
      return options.results ? { kind: "claimed", fencingToken: handed } : handed;
    };
    const complete = (id: string, handed: unknown): unknown => {
      const now = Date.now();
      const record = records.get(id);
      if (record === undefined || record.expiresAt <= now) return fencedOutcome["key-expired"];
      const token = options.tokens ? safeTokenValue(handed as FencingToken) : (handed as number);
      if (token !== record.token) return fencedOutcome["fencing-mismatch"];
      if ("entry" in record) {
        const completed = (record.entry as IdempotencyEntry<Processing>).complete(response);
        if (!record.entry.fingerprint.equals(completed.fingerprint)) {
          return fencedOutcome["fingerprint-mismatch"];
        }
        record.entry = completed;
      } else {
        if (!record.fingerprint.equals(fingerprint)) return fencedOutcome["fingerprint-mismatch"];
        record.response = response;
      }
      record.expiresAt = now + retention.retentionTtlMs;
      return options.results ? fencedOutcome.applied : "applied";
    };
    return async (key) => {
      const claimed = await Promise.resolve(claim(key.value));
      const handed = options.results
        ? (claimed as { fencingToken: unknown }).fencingToken
        : claimed;
      const outcome = await Promise.resolve(complete(key.value, handed));
      const kind = options.results ? (outcome as FencedOutcome).kind : outcome;
      if (kind !== "applied") throw new Error(`completion ${String(kind)}`);
    };
  };
}

const allocationSteps: readonly Step[] = [
  {
    name: "bare: one record per key (token, expiry, fingerprint, response), results as bare values",
    cycle: bareCycle({ results: false, tokens: false, entries: false }),
  },
  {
    name: "+ result objects (`{ kind, fencingToken }`, outcome constants)",
    cycle: bareCycle({ results: true, tokens: false, entries: false }),
  },
  {
    name: "+ a `FencingToken` object per claim",
    cycle: bareCycle({ results: true, tokens: true, entries: false }),
  },
  {
    name: "+ a `ProcessingEntry` and a `CompletedEntry` per cycle, held as the record's entry",
    cycle: bareCycle({ results: true, tokens: true, entries: true }),
  },
  {
    name: "+ the caller's entries and per-call options objects through `IdempotencyStore` (the floor)",
    cycle: () => {
      const store = new FloorStore() as unknown as IdempotencyStore;
      return (key) => claimAndComplete(store, key);
    },
  },
  {
    name: "`MemoryStore`",
    cycle: () => {
      const store = storeSubject();
      return store.claim;
    },
  },
];

/** The allocation table's rows: CPU µs per cycle of each step, median of `rounds`. */
async function allocationCosts(keyCount: number, concurrency: number, rounds: number) {
  const cpu = allocationSteps.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    // Every step in every round, in a rotated order, so each sees the same machine state.
    for (let offset = 0; offset < allocationSteps.length; offset++) {
      const index = (round + offset) % allocationSteps.length;
      const step = allocationSteps[index] as Step;
      const keys = Array.from({ length: keyCount }, () => IdempotencyKey.random());
      cpu[index]?.push((await measure(keys, concurrency, step.cycle())).cpuUs);
    }
  }
  let previous: number | undefined;
  return allocationSteps.map((step, index) => {
    const micros = median(cpu[index] ?? []);
    const delta =
      previous === undefined
        ? ""
        : `${micros - previous >= 0 ? "+" : ""}${(micros - previous).toFixed(2)}`;
    previous = micros;
    return `| ${step.name} | ${micros.toFixed(2)} | ${delta} |`;
  });
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
  const allocationRounds = 5;
  const allocationRows = await allocationCosts(300_000, 64, allocationRounds);
  return [
    "## Memory store",
    "",
    `Median of ${rounds} rounds, each on fresh UUID keys held until the round ends (as a retention window would); store and floor run side by side in every round, alternating which goes first. A cycle is tryInsert + complete; a replay is a tryInsert that finds the completed entry.`,
    "",
    "**Floor:** the least an `IdempotencyStore` can do for these calls, over a bare async `Map`, driven by the same caller code as the store (so both pay for building entries, options and checking results): a claim looks the key up, checks expiry, stores the given entry with a new token and answers `claimed` with a `FencingToken` (or `exists` with the live entry and its expiry); a completion looks the key up, checks expiry, the token and the fingerprint, and stores the completed entry. No validation of keys, entries, tokens or TTLs, no byte or entry bounds, no expiry index, no closed state. (Until 2026-12-01 the floor skipped the caller's entries, options and fingerprint check, and the store paid for them alone.) Ratio = store / floor in operations per second; the CPU columns give this process's CPU µs per operation (store / floor) and their ratio floor / store, which a busy machine skews less.",
    "",
    "| keys held | in flight | cycles/s | floor cycles/s | ratio | CPU µs (store / floor) | CPU ratio | replays/s | floor replays/s | ratio | CPU µs (store / floor) | CPU ratio |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    "### What the contract's allocations cost",
    "",
    `CPU µs per cycle (claim + complete) over 300,000 fresh keys held, 64 in flight, median of ${allocationRounds} rounds (every step in every round, in rotated order). Each step adds one kind of per-cycle allocation to a bare \`Map\`, up to the floor above and the store; the difference to the step before is what a store contract without that allocation would save per cycle.`,
    "",
    "| step | CPU µs per cycle | difference |",
    "| --- | ---: | ---: |",
    ...allocationRows,
    "",
    describeEnvironment(),
    "",
  ].join("\n");
}
