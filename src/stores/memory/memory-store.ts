import { systemClock, type Clock } from "../../core/clock.ts";
import { fencedOutcome, type FencedOutcome, type LeaseOutcome } from "../../core/fenced-outcome.ts";
import { FencingToken } from "../../core/fencing-token.ts";
import {
  assertCompleted,
  assertProcessing,
  type Completed,
  type IdempotencyEntry,
  type Processing,
} from "../../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../../core/idempotency-key.ts";
import { assertFencingToken, assertIdempotencyKey } from "../../core/store-arguments.ts";
import type { IdempotencyStore, StoredEntry } from "../../core/idempotency-store.ts";
import type { InsertResult } from "../../core/insert-result.ts";
import { validateTtlMs, type TtlOptions } from "../../core/ttl.ts";
import { InvalidArgumentError } from "../../errors/invalid-argument-error.ts";
import { StoreCapacityError } from "../../errors/store-capacity-error.ts";
import { StoreClosedError } from "../../errors/store-closed-error.ts";

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most entries held at once; unbounded by default. When a new claim finds the store full,
   * the oldest entry that is expired or completed is evicted (a retry of an evicted completed
   * key runs its side effect again). Live claims are never evicted: when only they remain, the new
   * claim fails with {@link StoreCapacityError}.
   */
  readonly maxEntries?: number;
  /** How often expired entries are swept, in milliseconds; 60 000 by default, 0 to disable. */
  readonly sweepIntervalMs?: number;
  /** Time source; `Date.now()` by default. */
  readonly clock?: Clock;
}

interface MemoryRecord {
  entry: IdempotencyEntry;
  readonly fencingToken: FencingToken;
  expiresAt: number;
}

function validateKey(key: unknown): string {
  assertIdempotencyKey(key);
  return key.value;
}

/**
 * An {@link IdempotencyStore} in process memory, for development, tests and single-process
 * services. Expiry is checked on every access, and a periodic sweep (whose timer never keeps
 * the process alive) frees expired entries.
 *
 * Fencing tokens come from one counter per store, so they are strictly increasing per key,
 * also after purge. Entries do not survive a restart.
 *
 * @example
 * ```ts
 * import { MemoryStore } from "idempotent/memory";
 *
 * await using store = new MemoryStore({ maxEntries: 100_000 });
 * const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint, { ttlMs: 30_000 }));
 * ```
 */
export class MemoryStore implements IdempotencyStore, AsyncDisposable {
  readonly #records = new Map<string, MemoryRecord>();
  readonly #clock: Clock;
  readonly #maxEntries: number;
  #lastToken = 0;
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const { maxEntries = Number.POSITIVE_INFINITY, sweepIntervalMs = 60_000 } = options;
    if (
      maxEntries !== Number.POSITIVE_INFINITY &&
      (!Number.isInteger(maxEntries) || maxEntries < 1)
    ) {
      throw new InvalidArgumentError("maxEntries", "expected a positive integer");
    }
    if (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs < 0) {
      throw new InvalidArgumentError("sweepIntervalMs", "expected a non-negative integer");
    }
    this.#clock = options.clock ?? systemClock;
    this.#maxEntries = maxEntries;
    if (sweepIntervalMs > 0) {
      this.#sweepTimer = setInterval(() => {
        this.sweep();
      }, sweepIntervalMs);
      this.#sweepTimer.unref();
    }
  }

  /** Number of entries held, live or expired but not yet swept. */
  get size(): number {
    return this.#records.size;
  }

  async tryInsert(key: IdempotencyKey, entry: IdempotencyEntry<Processing>): Promise<InsertResult> {
    this.#assertOpen("tryInsert");
    const id = validateKey(key);
    assertProcessing(entry);
    const now = this.#clock.now();
    const existing = this.#records.get(id);
    if (existing !== undefined) {
      if (existing.expiresAt > now) {
        return { kind: "exists", existing: existing.entry, expiresAt: existing.expiresAt };
      }
      // Re-inserted below, so insertion order stays oldest-first for eviction.
      this.#records.delete(id);
    }
    if (this.#records.size >= this.#maxEntries) this.#makeRoom(now);
    // Safe integers last 285 years at a million claims per second.
    const fencingToken = FencingToken.from(++this.#lastToken);
    this.#records.set(id, { entry, fencingToken, expiresAt: now + entry.leaseTtlMs });
    return { kind: "claimed", fencingToken, entry };
  }

  async complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    fencingToken: FencingToken,
    options: TtlOptions,
  ): Promise<FencedOutcome> {
    this.#assertOpen("complete");
    const id = validateKey(key);
    assertCompleted(entry);
    assertFencingToken(fencingToken);
    const ttlMs = validateTtlMs(options.ttlMs);
    const now = this.#clock.now();
    const record = this.#records.get(id);
    if (record === undefined || record.expiresAt <= now) return fencedOutcome["key-expired"];
    if (!record.fencingToken.equals(fencingToken)) return fencedOutcome["fencing-mismatch"];
    if (!record.entry.fingerprint.equals(entry.fingerprint)) {
      return fencedOutcome["fingerprint-mismatch"];
    }
    // The same claim completing again (a retry whose first reply was lost): keep the first.
    if (record.entry.state === "completed") return fencedOutcome.applied;
    record.entry = entry;
    record.expiresAt = now + ttlMs;
    return fencedOutcome.applied;
  }

  async touch(
    key: IdempotencyKey,
    fencingToken: FencingToken,
    options: TtlOptions,
  ): Promise<LeaseOutcome> {
    this.#assertOpen("touch");
    const id = validateKey(key);
    assertFencingToken(fencingToken);
    const ttlMs = validateTtlMs(options.ttlMs);
    const now = this.#clock.now();
    const record = this.#records.get(id);
    const held = this.#held(record, fencingToken, now);
    if (held !== undefined) return held;
    (record as MemoryRecord).expiresAt = now + ttlMs;
    return fencedOutcome.applied;
  }

  async remove(key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome> {
    this.#assertOpen("remove");
    const id = validateKey(key);
    assertFencingToken(fencingToken);
    const record = this.#records.get(id);
    const held = this.#held(record, fencingToken, this.#clock.now());
    if (held !== undefined) return held;
    this.#records.delete(id);
    return fencedOutcome.applied;
  }

  async get(key: IdempotencyKey): Promise<StoredEntry | undefined> {
    this.#assertOpen("get");
    const record = this.#records.get(validateKey(key));
    if (record === undefined || record.expiresAt <= this.#clock.now()) return undefined;
    return { entry: record.entry, expiresAt: record.expiresAt };
  }

  async purge(key: IdempotencyKey): Promise<boolean> {
    this.#assertOpen("purge");
    const id = validateKey(key);
    const record = this.#records.get(id);
    this.#records.delete(id);
    return record !== undefined && record.expiresAt > this.#clock.now();
  }

  /** Drops every expired entry now; returns how many were dropped. */
  sweep(): number {
    const now = this.#clock.now();
    let dropped = 0;
    for (const [id, record] of this.#records) {
      if (record.expiresAt <= now) {
        this.#records.delete(id);
        dropped++;
      }
    }
    return dropped;
  }

  /** Stops the sweep timer and drops every entry; later calls throw {@link StoreClosedError}. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#records.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The outcome when `fencingToken` does not hold a live processing claim, else undefined. */
  #held(
    record: MemoryRecord | undefined,
    fencingToken: FencingToken,
    now: number,
  ): LeaseOutcome | undefined {
    if (record === undefined || record.expiresAt <= now) return fencedOutcome["key-expired"];
    if (record.entry.state !== "processing" || !record.fencingToken.equals(fencingToken)) {
      return fencedOutcome["fencing-mismatch"];
    }
    return undefined;
  }

  /** Evicts the oldest expired or completed entry; live claims are never evicted. */
  #makeRoom(now: number): void {
    for (const [id, record] of this.#records) {
      if (record.expiresAt <= now || record.entry.state === "completed") {
        this.#records.delete(id);
        return;
      }
    }
    throw new StoreCapacityError(this.#maxEntries);
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new StoreClosedError(operation);
  }
}
