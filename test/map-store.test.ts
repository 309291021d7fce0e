// A store written as a third party would: only the public entry points (`idempotent`,
// `idempotent/store`, `idempotent/testing`), no deep imports. It must pass the exported
// conformance suite; if a store author needs something the entry points do not give, this
// file stops compiling.
import {
  FencingToken,
  IdempotencyKey,
  type Completed,
  type FencedOutcome,
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
  type LeaseOptions,
  type RetentionOptions,
  type StoreTtlOptions,
} from "../src/store.ts";
import { runStoreConformance } from "../src/testing/index.ts";

/** What the map keeps per key: plain parts, as a database row would. */
interface Row {
  state: "processing" | "completed" | "released";
  fingerprint: IdempotencyEntry["fingerprint"];
  response?: Extract<IdempotencyEntry, { state: "completed" }>["response"];
  token: bigint;
  expiresAt: number;
}

class MapStore implements IdempotencyStore {
  readonly #rows = new Map<string, Row>();
  readonly #ttls;
  #now = Date.now();

  constructor(options: StoreTtlOptions = {}) {
    this.#ttls = resolveStoreTtls(options);
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  #live(key: IdempotencyKey): Row | undefined {
    assertIdempotencyKey(key);
    const row = this.#rows.get(key.value);
    return row !== undefined && row.state !== "released" && row.expiresAt > this.#now
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
      expiresAt: this.#now + leaseOf(options, this.#ttls),
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
    if (row.state === "completed") return fencedOutcome.applied;
    Object.assign(row, {
      state: "completed",
      response: entry.response,
      expiresAt: this.#now + retentionOf(options, this.#ttls),
    });
    return fencedOutcome.applied;
  }

  async touch(key: IdempotencyKey, token: FencingToken, options?: LeaseOptions) {
    const row = this.#held(key, token);
    if ("kind" in row) return row;
    if (row.state !== "processing") return fencedOutcome["fencing-mismatch"];
    row.expiresAt = this.#now + leaseOf(options, this.#ttls);
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

let current: MapStore | undefined;
runStoreConformance({
  name: "a Map-based store written against the public entry points",
  createStore: () => (current = new MapStore()),
  advanceTime: (ms) => current?.advance(ms),
});
