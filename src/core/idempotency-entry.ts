import { EntryStateError } from "../errors/entry-state-error.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { CachedResponse, type CachedResponseJson } from "./cached-response.ts";
import { Fingerprint } from "./fingerprint.ts";
import { validateTtlMs, type TtlOptions } from "./ttl.ts";

/** The states an entry moves through, in order. */
export const entryStates = ["processing", "completed"] as const;

/** One of {@link entryStates}. */
export type EntryState = (typeof entryStates)[number];

/** The state of a claimed entry whose side effect has not finished. */
export type Processing = "processing";

/** The state of an entry holding the response to replay. */
export type Completed = "completed";

/** Version of the JSON form of entries. */
export const entryJsonVersion = 1;

/** The JSON form of a processing entry. */
export interface ProcessingEntryJson {
  readonly version: typeof entryJsonVersion;
  readonly state: Processing;
  readonly fingerprint: string;
  readonly leaseTtlMs: number;
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
 * const entry = IdempotencyEntry.new(fingerprint, { ttlMs: 30_000 });
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
  /** How long a claim lasts without completion or a lease extension. */
  readonly leaseTtlMs: number;

  /** @internal Use {@link IdempotencyEntry.new}. */
  constructor(fingerprint: Fingerprint, leaseTtlMs: number) {
    this.fingerprint = fingerprint;
    this.leaseTtlMs = leaseTtlMs;
  }

  /**
   * Moves the entry to the completed state, holding the response to replay.
   * @throws {@link InvalidArgumentError} (argument `response`) when `response` is not a
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
      leaseTtlMs: this.leaseTtlMs,
    };
  }
}

/**
 * An entry holding the response of its completed side effect. It has no transitions left.
 *
 * @example
 * ```ts
 * if (result.kind === "exists" && result.existing.state === "completed") {
 *   return result.existing.response;
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

  /** @internal Use {@link ProcessingEntry.complete}. */
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
 * const entry: IdempotencyEntry<Processing> = IdempotencyEntry.new(fingerprint, { ttlMs: 30_000 });
 * const completed: IdempotencyEntry<Completed> = entry.complete(response);
 * ```
 */
export type IdempotencyEntry<S extends EntryState = EntryState> = S extends Processing
  ? ProcessingEntry
  : CompletedEntry;

/** Constructors of {@link IdempotencyEntry}. */
export interface IdempotencyEntryFactory {
  /**
   * A new processing entry for a request, claimed for `ttlMs` (the lease).
   * @throws {@link InvalidArgumentError} when `fingerprint` is not a {@link Fingerprint}
   *   (argument `fingerprint`) or `ttlMs` is out of range (argument `ttlMs`).
   */
  new: (fingerprint: Fingerprint, options: TtlOptions) => IdempotencyEntry<Processing>;
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
 * const entry = IdempotencyEntry.new(fingerprint, { ttlMs: 60_000 });
 * const copy = IdempotencyEntry.fromJSON(JSON.parse(JSON.stringify(entry)));
 * ```
 */
export const IdempotencyEntry: IdempotencyEntryFactory = {
  new(fingerprint: Fingerprint, options: TtlOptions): ProcessingEntry {
    if (!(fingerprint instanceof Fingerprint)) {
      throw new InvalidArgumentError("fingerprint", "expected a Fingerprint");
    }
    return new ProcessingEntry(fingerprint, validateTtlMs(options.ttlMs));
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
      case "processing": {
        let leaseTtlMs: number;
        try {
          leaseTtlMs = validateTtlMs(record["leaseTtlMs"], "leaseTtlMs");
        } catch (error) {
          throw new MalformedRecordError("leaseTtlMs", "expected a TTL in milliseconds", {
            cause: error,
          });
        }
        return new ProcessingEntry(fingerprint, leaseTtlMs);
      }
      case "completed":
        return new CompletedEntry(fingerprint, CachedResponse.fromJSON(record["response"]));
      default:
        throw new MalformedRecordError("state", "expected processing or completed");
    }
  },
};

/**
 * The runtime backstop of the typestate, for callers the compiler cannot check.
 * @throws {@link EntryStateError} when `entry` is not a completed entry.
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
 * @throws {@link EntryStateError} when `entry` is not a processing entry.
 */
export function assertProcessing(entry: unknown): asserts entry is ProcessingEntry {
  if (!(entry instanceof ProcessingEntry)) {
    const actual =
      entry instanceof CompletedEntry ? "completed" : entry === null ? "null" : typeof entry;
    throw new EntryStateError("processing", actual);
  }
}
