import {
  SpanStatusCode,
  trace,
  type Attributes,
  type Meter,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import type { FencedOutcome, LeaseOutcome } from "../core/fenced-outcome.ts";
import type { FencingToken } from "../core/fencing-token.ts";
import type { Completed, IdempotencyEntry, Processing } from "../core/idempotency-entry.ts";
import type { IdempotencyKey } from "../core/idempotency-key.ts";
import type { IdempotencyStore, StoredEntry } from "../core/idempotency-store.ts";
import type { InsertResult } from "../core/insert-result.ts";
import type { LeaseOptions, RetentionOptions } from "../core/ttl.ts";
import { metricNames } from "./meter-events.ts";

/** Options of {@link traceStore}. */
export interface TraceStoreOptions {
  /** Tracer to use; `trace.getTracer("idempotent")` from the global provider by default. */
  readonly tracer?: Tracer;
  /** Recorded as `idempotency.store`, e.g. `"valkey"`; `"store"` by default. */
  readonly storeName?: string;
  /** Whether spans carry the idempotency key (`idempotency.key`); true by default. */
  readonly recordKeys?: boolean;
  /**
   * Records each operation's latency in the histogram `idempotency.store.operation.duration`
   * (seconds; attributes `idempotency.store`, `idempotency.operation`, `error.type` on failure).
   */
  readonly meter?: Meter;
}

/** Attribute names set on spans, defined once. */
export const tracingAttributes = {
  store: "idempotency.store",
  key: "idempotency.key",
  outcome: "idempotency.outcome",
  fencingToken: "idempotency.fencing_token",
  entryState: "idempotency.entry_state",
  ttlMs: "idempotency.ttl_ms",
} as const;

/** The TTL a call gave, as an attribute; none when the store's default applies. */
function ttlAttribute(ttlMs: number | undefined): Attributes {
  return ttlMs === undefined ? {} : { [tracingAttributes.ttlMs]: ttlMs };
}

/**
 * Wraps a store so every operation runs in an OpenTelemetry span (`idempotent.tryInsert`,
 * `idempotent.complete`, ...) carrying the key, the outcome and the fencing token; a fenced
 * operation that is rejected adds a `fencing.rejected` event, and a failure records the
 * exception. Needs the optional peer dependency `@opentelemetry/api`; without a registered
 * SDK the spans are no-ops.
 *
 * @example
 * ```ts
 * import { traceStore } from "idempotent/tracing";
 *
 * const store = traceStore(new ValkeyStore({ client }), { storeName: "valkey" });
 * const idempotency = new Idempotency({ store });
 * ```
 */
export function traceStore(
  store: IdempotencyStore,
  options: TraceStoreOptions = {},
): IdempotencyStore {
  const tracer = options.tracer ?? trace.getTracer("idempotent");
  const storeName = options.storeName ?? "store";
  const recordKeys = options.recordKeys ?? true;
  const latency = options.meter?.createHistogram(metricNames.storeDuration, {
    description: "Latency of one store operation",
    unit: "s",
  });

  async function traced<T>(
    operation: string,
    key: IdempotencyKey,
    extra: Attributes,
    run: () => Promise<T>,
    describe: (result: T, span: Span) => void,
  ): Promise<T> {
    const attributes: Attributes = { [tracingAttributes.store]: storeName, ...extra };
    if (recordKeys) attributes[tracingAttributes.key] = key.value;
    return tracer.startActiveSpan(`idempotent.${operation}`, { attributes }, async (span) => {
      const started = performance.now();
      let errorType: string | undefined;
      try {
        const result = await run();
        describe(result, span);
        return result;
      } catch (error) {
        errorType = error instanceof Error ? error.name : "unknown";
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
        latency?.record((performance.now() - started) / 1000, {
          [tracingAttributes.store]: storeName,
          "idempotency.operation": operation,
          ...(errorType === undefined ? {} : { "error.type": errorType }),
        });
      }
    });
  }

  const fenced = (token: FencingToken) => (outcome: FencedOutcome | LeaseOutcome, span: Span) => {
    span.setAttribute(tracingAttributes.outcome, outcome.kind);
    if (outcome.kind !== "applied") {
      span.addEvent("fencing.rejected", {
        [tracingAttributes.outcome]: outcome.kind,
        [tracingAttributes.fencingToken]: token.toString(),
      });
    }
  };

  return {
    tryInsert: (
      key: IdempotencyKey,
      entry: IdempotencyEntry<Processing>,
      options?: LeaseOptions,
    ): Promise<InsertResult> =>
      traced(
        "tryInsert",
        key,
        ttlAttribute(options?.leaseTtlMs),
        () => store.tryInsert(key, entry, options),
        (result, span) => {
          span.setAttribute(tracingAttributes.outcome, result.kind);
          if (result.kind === "claimed") {
            span.setAttribute(tracingAttributes.fencingToken, result.fencingToken.toString());
          } else {
            span.setAttribute(tracingAttributes.entryState, result.entry.state);
          }
        },
      ),
    complete: (
      key: IdempotencyKey,
      entry: IdempotencyEntry<Completed>,
      fencingToken: FencingToken,
      options?: RetentionOptions,
    ): Promise<FencedOutcome> =>
      traced(
        "complete",
        key,
        {
          [tracingAttributes.fencingToken]: fencingToken.toString(),
          ...ttlAttribute(options?.retentionTtlMs),
        },
        () => store.complete(key, entry, fencingToken, options),
        fenced(fencingToken),
      ),
    touch: (
      key: IdempotencyKey,
      fencingToken: FencingToken,
      options?: LeaseOptions,
    ): Promise<LeaseOutcome> =>
      traced(
        "touch",
        key,
        {
          [tracingAttributes.fencingToken]: fencingToken.toString(),
          ...ttlAttribute(options?.leaseTtlMs),
        },
        () => store.touch(key, fencingToken, options),
        fenced(fencingToken),
      ),
    remove: (key: IdempotencyKey, fencingToken: FencingToken): Promise<LeaseOutcome> =>
      traced(
        "remove",
        key,
        { [tracingAttributes.fencingToken]: fencingToken.toString() },
        () => store.remove(key, fencingToken),
        fenced(fencingToken),
      ),
    get: (key: IdempotencyKey): Promise<StoredEntry | undefined> =>
      traced(
        "get",
        key,
        {},
        () => store.get(key),
        (result, span) => {
          span.setAttribute(tracingAttributes.entryState, result?.entry.state ?? "absent");
        },
      ),
    purge: (key: IdempotencyKey): Promise<boolean> =>
      traced(
        "purge",
        key,
        {},
        () => store.purge(key),
        (deleted, span) => {
          span.setAttribute(tracingAttributes.outcome, deleted ? "deleted" : "absent");
        },
      ),
  };
}
