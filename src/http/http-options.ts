import { DefaultFingerprintStrategy } from "../core/default-fingerprint-strategy.ts";
import type { FingerprintStrategy } from "../core/fingerprint-strategy.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { validateTtlMs } from "../core/ttl.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import type { IdempotencyEvent } from "../execution/idempotency-event.ts";
import { contained } from "../utils/contained.ts";

/**
 * Who a request's caller is, from the framework's own request objects (Express `req`, Fastify
 * `request`, Hono `Context`, fetch `Request` and the route context): an API key, a user or a
 * tenant id. `undefined` (or `""`) means anonymous: the request is refused with 401, never
 * pooled with others.
 *
 * @example
 * ```ts
 * const scope: ScopeFunction<[Request]> = (request) => request.headers.get("x-api-key") ?? undefined;
 * ```
 */
export type ScopeFunction<TArgs extends readonly unknown[]> = (
  ...args: TArgs
) => string | undefined | Promise<string | undefined>;

/**
 * Options of the HTTP layer, shared by every adapter. `TArgs` are the framework objects the
 * adapter hands to `scope`.
 *
 * @example
 * ```ts
 * const options: HttpIdempotencyOptions<[Request]> = {
 *   store: new MemoryStore(),
 *   scope: (request) => request.headers.get("x-api-key") ?? undefined,
 *   required: true,
 * };
 * ```
 */
export interface HttpIdempotencyOptions<TArgs extends readonly unknown[] = readonly unknown[]> {
  /** Where entries live. */
  readonly store: IdempotencyStore;
  /**
   * Whose keys these are: a function returning the caller's identity, so one caller never
   * receives another's cached response; `"global"` for one shared key space, stated
   * explicitly. The identity is hashed into the stored key, never stored itself.
   */
  readonly scope: "global" | ScopeFunction<TArgs>;
  /** Header carrying the key; `Idempotency-Key` by default. */
  readonly headerName?: string;
  /** Methods the layer applies to; POST and PATCH by default. Others pass through. */
  readonly methods?: readonly string[];
  /** Whether a request without a key gets 400 instead of passing through; false by default. */
  readonly required?: boolean;
  /** Request headers that are part of the fingerprint (e.g. `content-type`); none by default. */
  readonly fingerprintHeaders?: readonly string[];
  /**
   * The part of a JSON body that makes the request, for the fingerprint; the whole body by
   * default. Leave out what changes between honest retries (a timestamp, a trace id). JSON
   * bodies are compared as canonical JSON either way: key order and spacing do not matter.
   */
  readonly fingerprintBody?: (json: unknown) => unknown;
  /**
   * Where the key is when the request has no key header: a function of the JSON body (a
   * webhook's event id, say). Its result follows the header's rules; `undefined` means no key.
   */
  readonly keyFromBody?: (json: unknown) => string | undefined;
  /** How requests are fingerprinted; XXH3-128 by default. */
  readonly fingerprintStrategy?: FingerprintStrategy;
  /** Told what happened to each key (executed, replayed, in flight, …), as `Idempotency`'s. */
  readonly onEvent?: (event: IdempotencyEvent) => void;
  /** Lease of a claim, extended while the handler runs; 30 000 ms by default. */
  readonly leaseTtlMs?: number;
  /** How long responses are replayed; 24 hours by default. */
  readonly retentionTtlMs?: number;
  /** Wait up to this many ms for an in-flight request and replay it, instead of a 409; 0 by default. */
  readonly waitMs?: number;
  /** Which statuses are cached; by default all but 5xx and 429, whose claim is released. */
  readonly cacheStatus?: (status: number) => boolean;
  /** Largest response body cached (bigger ones are served, not cached); 1 MiB by default. */
  readonly maxResponseBytes?: number;
  /** Largest request body read and fingerprinted (bigger ones get 413); 1 MiB by default. */
  readonly maxRequestBytes?: number;
  /**
   * Response headers never replayed, in addition to {@link defaultExcludedHeaders} (which always
   * apply).
   */
  readonly excludedHeaders?: readonly string[];
  /** Replay `Set-Cookie` headers too; false by default (a cookie is usually per session). */
  readonly replaySetCookie?: boolean;
  /**
   * Told of every failure the client cannot be told of (a completion or release that failed
   * after the response was sent) and of every 5xx the layer answers; `console.error` by default.
   * An `onError` that throws, or returns a promise that rejects, is ignored.
   */
  readonly onError?: (error: unknown) => void;
}

/**
 * Response headers never replayed: hop-by-hop and per-message headers. `set-cookie` is
 * excluded too unless `replaySetCookie` is set.
 */
export const defaultExcludedHeaders: readonly string[] = Object.freeze([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "date",
]);

/** The options with their defaults applied, validated once. */
export interface HttpPolicy<TArgs extends readonly unknown[]> {
  readonly store: IdempotencyStore;
  readonly scope: "global" | ScopeFunction<TArgs>;
  /** Lower case. */
  readonly headerName: string;
  /** Upper case. */
  readonly methods: ReadonlySet<string>;
  readonly required: boolean;
  /** Lower case. */
  readonly fingerprintHeaders: readonly string[];
  readonly fingerprintBody: ((json: unknown) => unknown) | undefined;
  readonly keyFromBody: ((json: unknown) => string | undefined) | undefined;
  readonly fingerprintStrategy: FingerprintStrategy;
  readonly leaseTtlMs: number | undefined;
  readonly retentionTtlMs: number | undefined;
  readonly onEvent: ((event: IdempotencyEvent) => void) | undefined;
  readonly waitMs: number;
  readonly cacheStatus: (status: number) => boolean;
  readonly maxResponseBytes: number;
  readonly maxRequestBytes: number;
  /** Lower case. */
  readonly excludedHeaders: ReadonlySet<string>;
  /** Never throws. */
  readonly onError: (error: unknown) => void;
}

function byteLimit(value: number | undefined, name: string): number {
  if (value === undefined) return 1024 * 1024;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(name, "expected a non-negative integer number of bytes");
  }
  return value;
}

const logError = (error: unknown): void => {
  console.error("idempotent:", error);
};

/**
 * Checks the options that have a range, for adapters that learn of some options before the
 * rest (NestJS's per-route options): a bad value fails where it is written, at startup.
 *
 * @example
 * ```ts
 * checkHttpOptions({ leaseTtlMs: -5 }); // throws InvalidArgumentError("leaseTtlMs", …)
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on an option out of range.
 */
export function checkHttpOptions(
  options: Pick<
    HttpIdempotencyOptions,
    "waitMs" | "leaseTtlMs" | "retentionTtlMs" | "maxRequestBytes" | "maxResponseBytes"
  >,
): void {
  const { waitMs = 0, leaseTtlMs, retentionTtlMs } = options;
  if (!Number.isSafeInteger(waitMs) || waitMs < 0) {
    throw new InvalidArgumentError("waitMs", "expected a non-negative integer");
  }
  if (leaseTtlMs !== undefined) validateTtlMs(leaseTtlMs, "leaseTtlMs");
  if (retentionTtlMs !== undefined) validateTtlMs(retentionTtlMs, "retentionTtlMs");
  byteLimit(options.maxRequestBytes, "maxRequestBytes");
  byteLimit(options.maxResponseBytes, "maxResponseBytes");
}

/**
 * Validates `options` and applies the defaults, once, into a frozen policy.
 *
 * @example
 * ```ts
 * const policy = resolveHttpPolicy({ store, scope: "global" });
 * policy.maxRequestBytes; // 1048576
 * ```
 * @throws {@link idempotent!InvalidArgumentError} on an option out of range.
 */
export function resolveHttpPolicy<TArgs extends readonly unknown[]>(
  options: HttpIdempotencyOptions<TArgs>,
): HttpPolicy<TArgs> {
  if (options.scope !== "global" && typeof options.scope !== "function") {
    throw new InvalidArgumentError(
      "scope",
      'give a function returning the caller, or "global" for one shared key space',
    );
  }
  checkHttpOptions(options);
  const waitMs = options.waitMs ?? 0;
  const excluded = new Set(
    [...defaultExcludedHeaders, ...(options.excludedHeaders ?? [])].map((h) => h.toLowerCase()),
  );
  if (options.replaySetCookie !== true) excluded.add("set-cookie");
  return Object.freeze({
    store: options.store,
    scope: options.scope,
    headerName: (options.headerName ?? "Idempotency-Key").toLowerCase(),
    methods: new Set((options.methods ?? ["POST", "PATCH"]).map((m) => m.toUpperCase())),
    required: options.required ?? false,
    fingerprintHeaders: (options.fingerprintHeaders ?? []).map((h) => h.toLowerCase()),
    fingerprintBody: options.fingerprintBody,
    keyFromBody: options.keyFromBody,
    fingerprintStrategy: options.fingerprintStrategy ?? DefaultFingerprintStrategy,
    leaseTtlMs: options.leaseTtlMs,
    retentionTtlMs: options.retentionTtlMs,
    onEvent: options.onEvent,
    waitMs,
    cacheStatus: options.cacheStatus ?? ((status: number) => status < 500 && status !== 429),
    maxResponseBytes: byteLimit(options.maxResponseBytes, "maxResponseBytes"),
    maxRequestBytes: byteLimit(options.maxRequestBytes, "maxRequestBytes"),
    excludedHeaders: excluded,
    onError: contained(options.onError ?? logError),
  });
}
