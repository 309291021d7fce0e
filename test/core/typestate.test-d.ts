// Compiled by `npm test` (tsc); every @ts-expect-error must stay an error, so loosening the
// typestate fails the build.
import { expectTypeOf } from "vitest";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import {
  CompletedEntry,
  IdempotencyEntry,
  ProcessingEntry,
  type Completed,
  type Processing,
} from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import type { InsertResult } from "../../src/core/insert-result.ts";

declare const store: IdempotencyStore;
declare const result: InsertResult;
const key = IdempotencyKey.random();
const fingerprint = Fingerprint.fromHex("0".repeat(32));
const processing = IdempotencyEntry.new(fingerprint);
const completed = processing.complete(CachedResponse.from("ok"));
const token = FencingToken.from(1);

expectTypeOf(processing).toEqualTypeOf<IdempotencyEntry<Processing>>();
expectTypeOf(completed).toEqualTypeOf<IdempotencyEntry<Completed>>();
expectTypeOf<IdempotencyEntry>().toEqualTypeOf<ProcessingEntry | CompletedEntry>();
expectTypeOf(completed.response).toEqualTypeOf<CachedResponse>();

// A completed entry cannot be completed again.
// @ts-expect-error complete does not exist on a completed entry
completed.complete(CachedResponse.from("again"));

// A processing entry has no response to read.
// @ts-expect-error response does not exist on a processing entry
void processing.response;

// A processing entry cannot be stored as completed.
// @ts-expect-error store.complete needs IdempotencyEntry<Completed>
void store.complete(key, processing, token, { retentionTtlMs: 1000 });

// A completed entry cannot claim a key.
// @ts-expect-error tryInsert needs IdempotencyEntry<Processing>
void store.tryInsert(key, completed);

// A look-alike object is not an entry: the classes are nominal.
void store.complete(
  key,
  // @ts-expect-error a plain object does not pass for a completed entry, even with every member
  {
    state: "completed",
    fingerprint,
    response: CachedResponse.from("x"),
    toJSON: () => completed.toJSON(),
  },
  token,
  { retentionTtlMs: 1000 },
);

// The fencing token is only readable after narrowing to a claim.
// @ts-expect-error fencingToken does not exist on every InsertResult
void result.fencingToken;
if (result.kind === "claimed") {
  expectTypeOf(result.fencingToken).toEqualTypeOf<FencingToken>();
  expectTypeOf(result.entry).toEqualTypeOf<IdempotencyEntry<Processing>>();
  void store.complete(key, result.entry.complete(CachedResponse.from("ok")), result.fencingToken, {
    retentionTtlMs: 1000,
  });
} else {
  expectTypeOf(result.entry).toEqualTypeOf<IdempotencyEntry>();
  // @ts-expect-error the response needs narrowing on state first
  void result.entry.response;
  if (result.entry.state === "completed") {
    expectTypeOf(result.entry.response).toEqualTypeOf<CachedResponse>();
  }
}

// A fencing token is not a number or a bigint.
// @ts-expect-error a raw number is not a FencingToken
void store.remove(key, 1);

// Keys are validated objects, not strings.
// @ts-expect-error a raw string is not an IdempotencyKey
void store.purge("key");
