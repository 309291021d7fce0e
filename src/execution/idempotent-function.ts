import { createHash } from "node:crypto";
import { CachedResponse } from "../core/cached-response.ts";
import { IdempotencyKey } from "../core/idempotency-key.ts";
import { IdempotencyConflictError } from "../errors/idempotency-conflict-error.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { InvalidKeyError } from "../errors/invalid-key-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { canonicalJson } from "../utils/canonical-json.ts";
import type { Idempotency } from "./idempotency.ts";

/**
 * Options of {@link idempotent}, typed by the wrapped function's arguments.
 *
 * @example
 * ```ts
 * const options: IdempotentFunctionOptions<[OrderEvent]> = {
 *   idempotency,
 *   operation: "create-order",
 *   key: (event) => event.id,
 *   fingerprint: (event) => event.order, // the fields that make the request; not event.sentAt
 * };
 * ```
 */
export interface IdempotentFunctionOptions<TArgs extends readonly unknown[]> {
  /** Claim-and-run over a store, with its lease and retention. */
  readonly idempotency: Idempotency;
  /**
   * Names what the function does; part of the fingerprint and of the stored key, so two
   * functions never share keys.
   */
  readonly operation: string;
  /**
   * The idempotency key of a call, from its arguments: a message id, an event id, an order
   * number (any non-empty string up to 255 characters), or an {@link IdempotencyKey}.
   */
  readonly key: (...args: TArgs) => string | IdempotencyKey;
  /**
   * What makes two calls the same request, from the arguments; all of them by default. A reused
   * key with a different value is a conflict. Compared as canonical JSON (key order and spacing
   * do not matter): pick the fields that matter and leave out timestamps or trace ids.
   */
  readonly fingerprint?: (...args: TArgs) => unknown;
  /** Wait up to this many ms for a call in flight with the same key; 0 by default. */
  readonly waitMs?: number;
}

/**
 * A call's result and whether this call ran the function (`executed`) or got an earlier run's
 * result (`replayed`).
 *
 * @example
 * ```ts
 * const { kind, result } = await chargeOnce.withOutcome(event);
 * metrics.increment(kind === "replayed" ? "charges.replayed" : "charges.executed");
 * ```
 */
export interface IdempotentResult<TResult> {
  readonly kind: "executed" | "replayed";
  readonly result: TResult;
}

/**
 * A function run at most once per key: calling it runs the wrapped function, or returns the
 * result of the run that already completed for that key.
 *
 * @example
 * ```ts
 * const order: Order = await createOrderOnce(event);
 * const { kind } = await createOrderOnce.withOutcome(event);
 * ```
 */
export interface IdempotentFunction<TArgs extends readonly unknown[], TResult> {
  (...args: TArgs): Promise<TResult>;
  /** The same call, telling whether it ran the function or replayed an earlier result. */
  readonly withOutcome: (...args: TArgs) => Promise<IdempotentResult<TResult>>;
}

/** The stored form of a result: `{}` for `undefined`, else `{ "value": … }`. */
interface StoredResult {
  readonly value?: unknown;
}

function storedKey(operation: string, key: string | IdempotencyKey): IdempotencyKey {
  if (key instanceof IdempotencyKey) return key;
  if (typeof key !== "string") {
    throw new InvalidKeyError("not-a-string", `key: expected a string, got ${typeof key}`);
  }
  if (key.length === 0) throw new InvalidKeyError("empty", "key: the key is empty");
  if (key.length > 255) {
    throw new InvalidKeyError("too-long", "key: the key is longer than 255 characters");
  }
  // Hashed with the operation: any character is fine, and two functions never share a key.
  const digest = createHash("sha256")
    .update(JSON.stringify([operation, key]))
    .digest("base64url");
  return IdempotencyKey.parse(`f1.${digest}`);
}

function replayedResult(response: CachedResponse): unknown {
  let stored: StoredResult | null;
  try {
    stored = response.json() as StoredResult | null;
  } catch (error) {
    // Not JSON (text, an empty body): stored under this key by other code.
    throw new MalformedRecordError("response", "not the result of an idempotent function", {
      cause: error,
    });
  }
  if (typeof stored !== "object" || stored === null) {
    throw new MalformedRecordError("response", "not the result of an idempotent function");
  }
  return stored.value;
}

/**
 * Wraps a function so it runs at most once per key, for work that is not an HTTP request: a
 * queue consumer, a webhook handler, a scheduled job, a Lambda. The wrapper keeps the
 * function's own argument and result types (interfaces included). A result is kept as JSON
 * (`toJSON` honoured): a replay returns what `JSON.parse` gives back, so keep results plain
 * data. A call that throws releases its key, so a retry runs again.
 *
 * @example
 * ```ts
 * import { Idempotency, idempotent } from "idempotent";
 *
 * const createOrderOnce = idempotent(createOrder, {
 *   idempotency: new Idempotency({ store }),
 *   operation: "create-order",
 *   key: (event: OrderEvent) => event.id,
 * });
 * consumer.on("message", async (event: OrderEvent) => {
 *   const order = await createOrderOnce(event); // an Order, run or replayed
 * });
 * ```
 * @throws {@link IdempotencyConflictError} from a call whose key is in flight or was used with
 *   other arguments; {@link idempotent!StoreError} and {@link idempotent!ClaimLostError} as `Idempotency.execute`;
 *   {@link idempotent!MalformedRecordError} when the key holds a response that is not one of its
 *   results (stored by other code).
 */
export function idempotent<TArgs extends readonly unknown[], TResult>(
  fn: (...args: TArgs) => TResult | Promise<TResult>,
  options: IdempotentFunctionOptions<TArgs>,
): IdempotentFunction<TArgs, TResult> {
  const { idempotency, operation, key, fingerprint, waitMs = 0 } = options;
  if (typeof operation !== "string" || operation === "") {
    throw new InvalidArgumentError("operation", "expected a non-empty string");
  }
  const withOutcome = async (...args: TArgs): Promise<IdempotentResult<TResult>> => {
    const outcome = await idempotency.execute(
      storedKey(operation, key(...args)),
      { operation, body: canonicalJson(fingerprint === undefined ? args : fingerprint(...args)) },
      async () => {
        const value: unknown = await fn(...args);
        // Through JSON, so the first caller gets what every replay will get.
        return CachedResponse.from(JSON.parse(JSON.stringify({ value })) as never);
      },
      { waitMs },
    );
    switch (outcome.kind) {
      case "executed":
        return { kind: "executed", result: replayedResult(outcome.response) as TResult };
      case "replayed":
        return { kind: "replayed", result: replayedResult(outcome.response) as TResult };
      case "in-flight":
        throw new IdempotencyConflictError("in-flight", outcome.retryAfterMs);
      case "fingerprint-mismatch":
        throw new IdempotencyConflictError("fingerprint-mismatch");
    }
  };
  const call = async (...args: TArgs): Promise<TResult> => (await withOutcome(...args)).result;
  return Object.assign(call, { withOutcome });
}
