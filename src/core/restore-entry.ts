import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { CachedResponse } from "./cached-response.ts";
import { Fingerprint } from "./fingerprint.ts";
import {
  CompletedEntry,
  ProcessingEntry,
  type Completed,
  type IdempotencyEntry,
  type Processing,
} from "./idempotency-entry.ts";

/**
 * What a store keeps of a processing entry.
 *
 * @example
 * ```ts
 * const parts: ProcessingParts = { state: "processing", fingerprint };
 * const entry = restoreEntry(parts);
 * ```
 */
export interface ProcessingParts {
  readonly state: Processing;
  readonly fingerprint: Fingerprint;
}

/**
 * What a store keeps of a completed entry.
 *
 * @example
 * ```ts
 * const parts: CompletedParts = { state: "completed", fingerprint, response };
 * const entry = restoreEntry(parts);
 * ```
 */
export interface CompletedParts {
  readonly state: Completed;
  readonly fingerprint: Fingerprint;
  readonly response: CachedResponse;
}

/**
 * Rebuilds an entry from the parts a store kept of it, for a store's `tryInsert` (`exists`)
 * and `get`. Applications move entries through their states with `IdempotencyEntry.new` and
 * `complete`; only a store, reading back what it wrote, needs this.
 *
 * @example
 * ```ts
 * const entry = row.state === "completed"
 *   ? restoreEntry({ state: "completed", fingerprint: Fingerprint.fromHex(row.fp), response })
 *   : restoreEntry({ state: "processing", fingerprint: Fingerprint.fromHex(row.fp) });
 * ```
 * @throws {@link idempotent!InvalidArgumentError} when a part is not of its type (argument `parts`).
 */
export function restoreEntry(parts: ProcessingParts): IdempotencyEntry<Processing>;
export function restoreEntry(parts: CompletedParts): IdempotencyEntry<Completed>;
export function restoreEntry(parts: ProcessingParts | CompletedParts): IdempotencyEntry;
export function restoreEntry(parts: ProcessingParts | CompletedParts): IdempotencyEntry {
  if (!(parts.fingerprint instanceof Fingerprint)) {
    throw new InvalidArgumentError("parts", "fingerprint: expected a Fingerprint");
  }
  switch (parts.state) {
    case "processing":
      return new ProcessingEntry(parts.fingerprint);
    case "completed":
      if (!(parts.response instanceof CachedResponse)) {
        throw new InvalidArgumentError("parts", "response: expected a CachedResponse");
      }
      return new CompletedEntry(parts.fingerprint, parts.response);
    default:
      throw new InvalidArgumentError("parts", "state: expected processing or completed");
  }
}
