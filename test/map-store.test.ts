// A store written as a third party would: only the public entry points (`idempotent`,
// `idempotent/store`, `idempotent/testing`), no deep imports. It must pass the exported
// conformance suite; if a store author needs something the entry points do not give, this
// file stops compiling. docs/writing-a-store.md shows this code, block by block, with the
// package's import paths (test/writing-a-store.test.ts checks that they are the same).
import {
  FencingToken,
  IdempotencyKey,
  type CachedResponse,
  type Completed,
  type FencedOutcome,
  type Fingerprint,
  type IdempotencyEntry,
  type IdempotencyStore,
  type InsertResult,
  type LeaseOutcome,
  type Processing,
  type StoredEntry,
} from "../src/index.ts";
import {
  assertCompleted,
  assertFencingToken,
  assertIdempotencyKey,
  assertProcessing,
  fencedOutcome,
  leaseOf,
  resolveStoreTtls,
  restoreEntry,
  retentionOf,
  systemClock,
  type Clock,
  type LeaseOptions,
  type RetentionOptions,
  type StoreTtlOptions,
} from "../src/store.ts";
import { runStoreConformance } from "../src/testing/index.ts";

/** What the map keeps per key: plain parts, as a database row would. */
interface Row {
  state: "processing" | "completed" | "released";
  fingerprint: Fingerprint;
  response?: CachedResponse;
  token: bigint;
  expiresAt: number;
}

interface MapStoreOptions extends StoreTtlOptions {
  /** Where "now" comes from; a test passes a clock it moves. */
  readonly clock?: Clock;
}

class MapStore implements IdempotencyStore {
  readonly #rows = new Map<string, Row>();
  readonly #ttls;
  readonly #clock: Clock;

  constructor(options: MapStoreOptions = {}) {
    this.#ttls = resolveStoreTtls(options);
    this.#clock = options.clock ?? systemClock;
  }

  #live(key: IdempotencyKey): Row | undefined {
    assertIdempotencyKey(key);
    const row = this.#rows.get(key.value);
    return row !== undefined && row.state !== "released" && row.expiresAt > this.#clock.now()
      ? row
      : undefined;
  }

  #entry(row: Row): IdempotencyEntry {
    return row.state === "completed" && row.response !== undefined
      ? restoreEntry({ state: "completed", fingerprint: row.fingerprint, response: row.response })
      : restoreEntry({ state: "processing", fingerprint: row.fingerprint });
  }

  async tryInsert(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Processing>,
    options?: LeaseOptions,
  ): Promise<InsertResult> {
    assertProcessing(entry);
    const live = this.#live(key);
    if (live !== undefined) {
      return { kind: "exists", entry: this.#entry(live), expiresAt: live.expiresAt };
    }
    // Tokens keep increasing per key: the last one survives expiry and release.
    const token = (this.#rows.get(key.value)?.token ?? 0n) + 1n;
    this.#rows.set(key.value, {
      state: "processing",
      fingerprint: entry.fingerprint,
      token,
      expiresAt: this.#clock.now() + leaseOf(options, this.#ttls),
    });
    return { kind: "claimed", fencingToken: FencingToken.from(token), entry };
  }

  #held(key: IdempotencyKey, token: FencingToken): Row | LeaseOutcome {
    assertFencingToken(token);
    const row = this.#live(key);
    if (row === undefined) return fencedOutcome["key-expired"];
    if (row.token !== token.value) return fencedOutcome["fencing-mismatch"];
    return row;
  }

  async complete(
    key: IdempotencyKey,
    entry: IdempotencyEntry<Completed>,
    token: FencingToken,
    options?: RetentionOptions,
  ): Promise<FencedOutcome> {
    assertCompleted(entry);
    const row = this.#held(key, token);
    if ("kind" in row) return row;
    if (!row.fingerprint.equals(entry.fingerprint)) return fencedOutcome["fingerprint-mismatch"];
    // The same claim completing again (a retry whose reply was lost): the first response stays.
    if (row.state === "completed") return fencedOutcome.applied;
    Object.assign(row, {
      state: "completed",
      response: entry.response,
      expiresAt: this.#clock.now() + retentionOf(options, this.#ttls),
    });
    return fencedOutcome.applied;
  }

  async touch(key: IdempotencyKey, token: FencingToken, options?: LeaseOptions) {
    const row = this.#held(key, token);
    if ("kind" in row) return row;
    if (row.state !== "processing") return fencedOutcome["fencing-mismatch"];
    row.expiresAt = this.#clock.now() + leaseOf(options, this.#ttls);
    return fencedOutcome.applied;
  }

  async remove(key: IdempotencyKey, token: FencingToken) {
    const row = this.#held(key, token);
    if ("kind" in row) return row;
    if (row.state !== "processing") return fencedOutcome["fencing-mismatch"];
    row.state = "released";
    return fencedOutcome.applied;
  }

  async get(key: IdempotencyKey): Promise<StoredEntry | undefined> {
    const row = this.#live(key);
    return row === undefined ? undefined : { entry: this.#entry(row), expiresAt: row.expiresAt };
  }

  async purge(key: IdempotencyKey): Promise<boolean> {
    const live = this.#live(key) !== undefined;
    const row = this.#rows.get(key.value);
    if (row !== undefined) row.state = "released";
    return live;
  }
}

// One clock the tests move, so the expiry tests run at once instead of sleeping.
let now = Date.now();
runStoreConformance({
  name: "a Map-based store written against the public entry points",
  createStore: () => new MapStore({ clock: { now: () => now } }),
  advanceTime: (ms) => {
    now += ms;
  },
});
