import { EntryStateError } from "../errors/entry-state-error.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { CachedResponse, type CachedResponseJson } from "./cached-response.ts";
import { Fingerprint } from "./fingerprint.ts";

/** The states an entry moves through, in order. */
export const entryStates = ["processing", "completed"] as const;

/** One of {@link entryStates}. */
export type EntryState = (typeof entryStates)[number];

/**
 * The state of a claimed entry whose side effect has not finished.
 *
 * @example
 * ```ts
 * const entry: IdempotencyEntry<Processing> = IdempotencyEntry.new(fingerprint);
 * ```
 */
export type Processing = "processing";

/**
 * The state of an entry holding the response to replay.
 *
 * @example
 * ```ts
 * const completed: IdempotencyEntry<Completed> = IdempotencyEntry.new(fingerprint).complete(response);
 * ```
 */
export type Completed = "completed";

/** Version of the JSON form of entries. */
export const entryJsonVersion = 1;

/** The JSON form of a processing entry. */
export interface ProcessingEntryJson {
  readonly version: typeof entryJsonVersion;
  readonly state: Processing;
  readonly fingerprint: string;
}

/** The JSON form of a completed entry. */
export interface CompletedEntryJson {
  readonly version: typeof entryJsonVersion;
  readonly state: Completed;
  readonly fingerprint: string;
  readonly response: CachedResponseJson;
}

/**
 * An entry whose side effect is running. Its only transition is {@link ProcessingEntry.complete}.
 *
 * @example
 * ```ts
 * const entry = IdempotencyEntry.new(fingerprint);
 * const completed = entry.complete(CachedResponse.from({ ok: true }));
 * ```
 */
export class ProcessingEntry {
  // Private members make the class nominal: no look-alike object passes for an entry.
  declare private readonly brand: Processing;
  /** Always `"processing"`. */
  readonly state: Processing = "processing";
  /** Digest of the request that claimed the key. */
  readonly fingerprint: Fingerprint;

  /** @internal Use {@link IdempotencyEntry.new}, or `restoreEntry` in a store. */
  constructor(fingerprint: Fingerprint) {
    this.fingerprint = fingerprint;
  }

  /**
   * Moves the entry to the completed state, holding the response to replay.
   * @throws {@link idempotent!InvalidArgumentError} (argument `response`) when `response` is not a
   *   {@link CachedResponse} (possible only from JavaScript or through a cast).
   */
  complete(response: CachedResponse): CompletedEntry {
    if (!(response instanceof CachedResponse)) {
      throw new InvalidArgumentError("response", "expected a CachedResponse");
    }
    return new CompletedEntry(this.fingerprint, response);
  }

  /** The versioned JSON form. */
  toJSON(): ProcessingEntryJson {
    return {
      version: entryJsonVersion,
      state: this.state,
      fingerprint: this.fingerprint.hex,
    };
  }
}

/**
 * An entry holding the response of its completed side effect. It has no transitions left.
 *
 * @example
 * ```ts
 * if (result.kind === "exists" && result.entry.state === "completed") {
 *   return result.entry.response;
 * }
 * ```
 */
export class CompletedEntry {
  declare private readonly brand: Completed;
  /** Always `"completed"`. */
  readonly state: Completed = "completed";
  /** Digest of the request that produced the response. */
  readonly fingerprint: Fingerprint;
  /** The response replayed to retries. */
  readonly response: CachedResponse;

  /** @internal Use {@link ProcessingEntry.complete}, or `restoreEntry` in a store. */
  constructor(fingerprint: Fingerprint, response: CachedResponse) {
    this.fingerprint = fingerprint;
    this.response = response;
  }

  /** The versioned JSON form. */
  toJSON(): CompletedEntryJson {
    return {
      version: entryJsonVersion,
      state: this.state,
      fingerprint: this.fingerprint.hex,
      response: this.response.toJSON(),
    };
  }
}

/**
 * An idempotency entry in state `S`: `IdempotencyEntry<Processing>` or
 * `IdempotencyEntry<Completed>`; without an argument, either.
 *
 * @example
 * ```ts
 * const entry: IdempotencyEntry<Processing> = IdempotencyEntry.new(fingerprint);
 * const completed: IdempotencyEntry<Completed> = entry.complete(response);
 * ```
 */
export type IdempotencyEntry<S extends EntryState = EntryState> = S extends Processing
  ? ProcessingEntry
  : CompletedEntry;

/** Constructors of {@link IdempotencyEntry}. */
export interface IdempotencyEntryFactory {
  /**
   * A new processing entry for a request, to claim a key with. It carries no time: how long
   * a claim lasts is the store's business (its lease).
   * @throws {@link idempotent!InvalidArgumentError} when `fingerprint` is not a {@link Fingerprint}
   *   (argument `fingerprint`).
   */
  new: (fingerprint: Fingerprint) => IdempotencyEntry<Processing>;
  /**
   * Parses the versioned JSON form of either state.
   * @throws {@link MalformedRecordError} when the input is not an entry of a known version.
   */
  fromJSON: (json: unknown) => IdempotencyEntry;
}

/**
 * Creates and parses entries.
 *
 * @example
 * ```ts
 * const entry = IdempotencyEntry.new(fingerprint);
 * const copy = IdempotencyEntry.fromJSON(JSON.parse(JSON.stringify(entry)));
 * ```
 */
export const IdempotencyEntry: IdempotencyEntryFactory = {
  new(fingerprint: Fingerprint): ProcessingEntry {
    if (!(fingerprint instanceof Fingerprint)) {
      throw new InvalidArgumentError("fingerprint", "expected a Fingerprint");
    }
    return new ProcessingEntry(fingerprint);
  },

  fromJSON(json: unknown): IdempotencyEntry {
    if (typeof json !== "object" || json === null) {
      throw new MalformedRecordError("", "expected an object");
    }
    const record = json as Record<string, unknown>;
    if (record["version"] !== entryJsonVersion) {
      throw new MalformedRecordError("version", `unsupported version ${String(record["version"])}`);
    }
    const fingerprint = Fingerprint.fromJSON(record["fingerprint"]);
    switch (record["state"]) {
      // An earlier form also held `leaseTtlMs`; a lease is the store's business now.
      case "processing":
        return new ProcessingEntry(fingerprint);
      case "completed":
        return new CompletedEntry(fingerprint, CachedResponse.fromJSON(record["response"]));
      default:
        throw new MalformedRecordError("state", "expected processing or completed");
    }
  },
};

/**
 * The runtime backstop of the typestate, for callers the compiler cannot check.
 * @example
 * ```ts
 * async complete(key, entry, fencingToken, options) {
 *   assertCompleted(entry); // a JavaScript caller may pass anything
 * }
 * ```
 * @throws {@link idempotent!EntryStateError} when `entry` is not a completed entry.
 */
export function assertCompleted(entry: unknown): asserts entry is CompletedEntry {
  if (!(entry instanceof CompletedEntry)) {
    const actual =
      entry instanceof ProcessingEntry ? "processing" : entry === null ? "null" : typeof entry;
    throw new EntryStateError("completed", actual);
  }
}

/**
 * The runtime backstop for operations that need a new processing entry.
 * @example
 * ```ts
 * async tryInsert(key, entry, options) {
 *   assertProcessing(entry); // a JavaScript caller may pass anything
 * }
 * ```
 * @throws {@link idempotent!EntryStateError} when `entry` is not a processing entry.
 */
export function assertProcessing(entry: unknown): asserts entry is ProcessingEntry {
  if (!(entry instanceof ProcessingEntry)) {
    const actual =
      entry instanceof CompletedEntry ? "completed" : entry === null ? "null" : typeof entry;
    throw new EntryStateError("processing", actual);
  }
}
