import { CachedResponse } from "../core/cached-response.ts";
import { DefaultFingerprintStrategy } from "../core/default-fingerprint-strategy.ts";
import type { Fingerprint } from "../core/fingerprint.ts";
import type { FingerprintBody, FingerprintStrategy } from "../core/fingerprint-strategy.ts";
import { IdempotencyEntry } from "../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { defaultLeaseTtlMs, defaultRetentionTtlMs, validateTtlMs } from "../core/ttl.ts";
import type { InsertResult } from "../core/insert-result.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { StoreError } from "../errors/store-error.ts";
import { ClaimGuard, type ResponseInput } from "./claim-guard.ts";
import type { IdempotencyEvent } from "./idempotency-event.ts";
import { contained } from "../utils/contained.ts";
import type {
  ClaimOutcome,
  ExecutionOutcome,
  FingerprintMismatch,
  InFlight,
  Replayed,
} from "./execution-outcome.ts";
import { delay } from "../utils/delay.ts";

/**
 * Options of {@link Idempotency}.
 *
 * @example
 * ```ts
 * const idempotency = new Idempotency({ store, leaseTtlMs: 10_000, retentionTtlMs: 3_600_000 });
 * ```
 */
export interface IdempotencyOptions {
  /** Where entries live. */
  readonly store: IdempotencyStore;
  /** How requests are fingerprinted; XXH3-128 by default. */
  readonly fingerprintStrategy?: FingerprintStrategy;
  /** Lease of a claim, extended while the side effect runs; 30 000 ms by default. */
  readonly leaseTtlMs?: number;
  /** How long completed responses are replayed; 24 hours by default. */
  readonly retentionTtlMs?: number;
  /**
   * Told what happened to each key: executed, replayed, in flight, fingerprint mismatch,
   * released, claim lost, store error. A listener that throws is ignored.
   */
  readonly onEvent?: (event: IdempotencyEvent) => void;
}

/**
 * The request a key is used for: an operation name and a body to fingerprint, or a
 * fingerprint computed by the caller.
 *
 * @example
 * ```ts
 * const byParts: ExecutionRequest = { operation: "POST /payments", body: rawBody };
 * const byFingerprint: ExecutionRequest = { fingerprint };
 * ```
 */
export type ExecutionRequest =
  | { readonly operation: string; readonly body?: FingerprintBody }
  | { readonly fingerprint: Fingerprint };

/**
 * Per-call options of {@link Idempotency.execute} and {@link Idempotency.claim}.
 *
 * @example
 * ```ts
 * await idempotency.execute(key, request, chargeCard, {
 *   waitMs: 2000,
 *   cacheFailure: (error) => (error instanceof CardDeclined ? CachedResponse.from({ declined: true }, { status: 402 }) : undefined),
 * });
 * ```
 */
export interface ExecuteOptions {
  /**
   * When another call holds the key, wait up to this many milliseconds for it to finish and
   * replay its response (or run, if it released the claim) instead of answering `in-flight`.
   * 0 by default.
   */
  readonly waitMs?: number;
  /**
   * Turns a side effect's error into a response to cache, so retries replay the failure
   * instead of running again. Return `undefined` to release the claim (the default for every
   * error). The error is rethrown either way; if `cacheFailure` itself throws, the claim is
   * released and its error becomes the side effect error's `cause`.
   */
  readonly cacheFailure?: (error: unknown) => ResponseInput;
}

/**
 * What a side effect receives.
 *
 * @example
 * ```ts
 * await idempotency.execute(key, request, async ({ signal, guard }) =>
 *   chargeCard(payment, { signal, idempotencyToken: guard.fencingToken.toString() }),
 * );
 * ```
 */
export interface SideEffectContext {
  /** Aborted when the claim is lost (the lease could not be extended); stop then. */
  readonly signal: AbortSignal;
  /** The claim's guard, e.g. for the fencing token to pass to a downstream system. */
  readonly guard: ClaimGuard;
}

/**
 * Claim-and-run over a store: the first call for a key runs the side effect and stores its
 * response; retries with the same request get that response back; a retry with a different
 * request gets a conflict.
 *
 * @example
 * ```ts
 * import { Idempotency, IdempotencyKey } from "idempotent";
 * import { MemoryStore } from "idempotent/memory";
 *
 * const idempotency = new Idempotency({ store: new MemoryStore() });
 * const outcome = await idempotency.execute(
 *   IdempotencyKey.parse(headerValue),
 *   { operation: "POST /payments", body: rawBody },
 *   async ({ signal }) => chargeCard(payment, { signal }),
 * );
 * if (outcome.kind === "executed" || outcome.kind === "replayed") send(outcome.response);
 * ```
 */
export class Idempotency {
  /** The store in use. */
  readonly store: IdempotencyStore;
  readonly #fingerprintStrategy: FingerprintStrategy;
  readonly #leaseTtlMs: number;
  readonly #retentionTtlMs: number;
  readonly #onEvent: ((event: IdempotencyEvent) => void) | undefined;
  readonly #emit: (event: IdempotencyEvent) => void;

  constructor(options: IdempotencyOptions) {
    this.#onEvent = options.onEvent;
    this.#emit = contained(options.onEvent);
    this.store = options.store;
    this.#fingerprintStrategy = options.fingerprintStrategy ?? DefaultFingerprintStrategy;
    this.#leaseTtlMs = validateTtlMs(options.leaseTtlMs ?? defaultLeaseTtlMs, "leaseTtlMs");
    this.#retentionTtlMs = validateTtlMs(
      options.retentionTtlMs ?? defaultRetentionTtlMs,
      "retentionTtlMs",
    );
  }

  /** The fingerprint of a request under this instance's strategy. */
  fingerprint(request: ExecutionRequest): Fingerprint {
    if ("fingerprint" in request) return request.fingerprint;
    return this.#fingerprintStrategy.compute(request.operation, request.body ?? "");
  }

  /**
   * Runs `sideEffect` at most once per key (within the retention TTL) and returns what
   * happened. A side effect that throws releases the claim (unless `cacheFailure` caches it)
   * and the error propagates.
   *
   * @throws {@link idempotent!ClaimLostError} when the claim was lost before the response was stored.
   * @throws {@link idempotent!StoreError} when the store fails; the side effect has not run if the claim
   *   itself failed.
   */
  async execute(
    key: IdempotencyKey,
    request: ExecutionRequest,
    sideEffect: (context: SideEffectContext) => ResponseInput | Promise<ResponseInput>,
    options: ExecuteOptions = {},
  ): Promise<ExecutionOutcome> {
    const claim = await this.claim(key, request, options);
    if (claim.kind !== "claimed") return claim;
    const { guard } = claim;
    let response: CachedResponse;
    try {
      response = CachedResponse.from(await sideEffect({ signal: guard.signal, guard }));
    } catch (error) {
      await settleFailure(guard, error, options.cacheFailure);
      throw error;
    }
    return { kind: "executed", response: await guard.complete(response) };
  }

  /**
   * Claims `key` for `request`. The winner gets a {@link ClaimGuard} to complete or release;
   * everyone else gets the replay, in-flight or mismatch outcome.
   */
  async claim(
    key: IdempotencyKey,
    request: ExecutionRequest,
    options: Pick<ExecuteOptions, "waitMs"> = {},
  ): Promise<ClaimOutcome> {
    const fingerprint = this.fingerprint(request);
    const waitMs = options.waitMs ?? 0;
    if (!Number.isInteger(waitMs) || waitMs < 0) {
      throw new InvalidArgumentError("waitMs", "expected a non-negative integer");
    }
    const deadline = Date.now() + waitMs;
    let pollMs = 5;
    for (;;) {
      const claimedAt = Date.now();
      let result: InsertResult;
      try {
        result = await this.store.tryInsert(key, IdempotencyEntry.new(fingerprint), {
          leaseTtlMs: this.#leaseTtlMs,
        });
      } catch (error) {
        if (error instanceof StoreError) this.#emit({ kind: "store-error", key, error });
        throw error;
      }
      if (result.kind === "claimed") {
        const guard = new ClaimGuard({
          store: this.store,
          key,
          fencingToken: result.fencingToken,
          entry: result.entry,
          leaseTtlMs: this.#leaseTtlMs,
          retentionTtlMs: this.#retentionTtlMs,
          claimedAt,
          onEvent: this.#onEvent,
        });
        return { kind: "claimed", guard };
      }
      const settled = settle(result.entry, result.expiresAt, fingerprint);
      const now = Date.now();
      if (settled.kind !== "in-flight" || now >= deadline) {
        this.#emit(
          settled.kind === "in-flight"
            ? { kind: "in-flight", key, retryAfterMs: settled.retryAfterMs }
            : { kind: settled.kind, key },
        );
        return settled;
      }
      await delay(Math.min(pollMs, deadline - now));
      pollMs = Math.min(pollMs * 2, 250);
    }
  }
}

/**
 * Settles the claim of a side effect that threw: completes it with `cacheFailure`'s response,
 * or releases it. The side effect's error is what the caller must see, so a store failure here
 * is swallowed, and a `cacheFailure` that throws (or returns what is not a response) releases
 * the claim and becomes the side effect error's `cause`.
 */
async function settleFailure(
  guard: ClaimGuard,
  error: unknown,
  cacheFailure: ExecuteOptions["cacheFailure"],
): Promise<void> {
  let failure: CachedResponse | undefined;
  try {
    const input: unknown = cacheFailure?.(error);
    if (typeof (input as { then?: unknown } | undefined)?.then === "function") {
      throw new InvalidArgumentError("cacheFailure", "expected a response, got a promise");
    }
    if (input !== undefined) failure = CachedResponse.from(input as ResponseInput);
  } catch (callbackError) {
    attachCause(error, callbackError);
  }
  if (failure === undefined) await guard.release().catch(() => undefined);
  else await guard.complete(failure).catch(() => undefined);
}

/** Sets `cause` on an error that has none, when it can take one. */
function attachCause(error: unknown, cause: unknown): void {
  if (error instanceof Error && error.cause === undefined && Object.isExtensible(error)) {
    Object.defineProperty(error, "cause", { value: cause, configurable: true, writable: true });
  }
}

/** The outcome a non-winner gets for the live entry it found. */
function settle(
  entry: IdempotencyEntry,
  expiresAt: number,
  fingerprint: Fingerprint,
): Replayed | InFlight | FingerprintMismatch {
  if (!entry.fingerprint.equals(fingerprint)) return { kind: "fingerprint-mismatch" };
  if (entry.state === "completed") return { kind: "replayed", response: entry.response };
  const remaining = Math.max(1, expiresAt - Date.now());
  return {
    kind: "in-flight",
    leaseExpiresAt: expiresAt,
    retryAfterMs: Math.min(remaining, 1000),
  };
}
