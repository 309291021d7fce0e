import { CachedResponse, type HeaderPairs } from "../core/cached-response.ts";
import { DefaultFingerprintStrategy } from "../core/default-fingerprint-strategy.ts";
import type { FingerprintStrategy } from "../core/fingerprint-strategy.ts";
import { IdempotencyKey, maxKeyBytes } from "../core/idempotency-key.ts";
import type { IdempotencyStore } from "../core/idempotency-store.ts";
import { InvalidArgumentError } from "../errors/invalid-argument-error.ts";
import { InvalidKeyError } from "../errors/invalid-key-error.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { StoreError } from "../errors/store-error.ts";
import type { ClaimGuard } from "../execution/claim-guard.ts";
import { Idempotency } from "../execution/idempotency.ts";
import { parseIdempotencyKeyHeader } from "./parse-idempotency-key.ts";
import { problemResponse } from "./problem.ts";

/** A request as the HTTP layer sees it; each adapter builds one. */
export interface IdempotentHttpRequest {
  /** Upper-case method. */
  readonly method: string;
  /** Path and query, e.g. `/orders?dry=1`. */
  readonly path: string;
  /** A header value by lower-case name; repeated headers joined with `, `. */
  header(name: string): string | undefined;
  /** The body as received (raw bytes), or as parsed by a framework (serialized again). */
  readonly body: Uint8Array | string | undefined;
}

/** A response as produced by a handler, for caching. */
export interface IdempotentHttpResponse {
  readonly status: number;
  readonly headers: HeaderPairs;
  readonly body: Uint8Array;
}

/** Options of the HTTP layer, shared by every adapter. */
export interface HttpIdempotencyOptions {
  /** Where entries live. */
  readonly store: IdempotencyStore;
  /**
   * Whose keys these are: a function of the request returning the caller's identity (API key,
   * user, tenant), so one caller never receives another's cached response; `"global"` for one
   * shared key space, stated explicitly. A function returning `undefined` answers 400.
   */
  readonly scope: "global" | ((request: IdempotentHttpRequest) => string | undefined);
  /** Header carrying the key; `Idempotency-Key` by default. */
  readonly headerName?: string;
  /** Methods the layer applies to; POST and PATCH by default. Others pass through. */
  readonly methods?: readonly string[];
  /** Whether a request without a key gets 400 instead of passing through; false by default. */
  readonly required?: boolean;
  /** Request headers that are part of the fingerprint (e.g. `content-type`); none by default. */
  readonly fingerprintHeaders?: readonly string[];
  /** How requests are fingerprinted; XXH3-128 by default. */
  readonly fingerprintStrategy?: FingerprintStrategy;
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
  /** Largest request body fingerprinted (bigger ones get 413); 1 MiB by default. */
  readonly maxRequestBytes?: number;
  /** Response headers never replayed; `set-cookie` and hop-by-hop headers by default. */
  readonly excludedHeaders?: readonly string[];
  /** Told about store failures after the response was sent (a completion or release failed). */
  readonly onError?: (error: unknown) => void;
}

/** Response headers not replayed by default: cookies, and hop-by-hop or per-message headers. */
export const defaultExcludedHeaders: readonly string[] = [
  "set-cookie",
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
];

/** Header added to replayed responses. */
export const replayedHeader = "idempotent-replayed";

/** What to do with a request, from {@link HttpIdempotency.begin}. */
export type HttpDecision =
  | { readonly kind: "pass" }
  | { readonly kind: "respond"; readonly response: CachedResponse }
  | { readonly kind: "run"; readonly exchange: HttpExchange };

const encoder = new TextEncoder();

/**
 * A request that won its key: run the handler, then `finish` with its response (or `abandon`
 * when the handler failed), exactly once.
 */
export class HttpExchange {
  readonly #guard: ClaimGuard;
  readonly #owner: HttpIdempotency;

  /** @internal Built by {@link HttpIdempotency.begin}. */
  constructor(guard: ClaimGuard, owner: HttpIdempotency) {
    this.#guard = guard;
    this.#owner = owner;
  }

  /** Aborted when the claim is lost while the handler runs. */
  get signal(): AbortSignal {
    return this.#guard.signal;
  }

  /**
   * Caches the response if its status is cacheable, else releases the claim. `undefined`
   * means the response could not be captured whole (too large, or streamed): released.
   */
  async finish(response: IdempotentHttpResponse | undefined): Promise<void> {
    if (this.#guard.settled) return;
    try {
      if (response === undefined || !this.#owner.isCacheable(response)) {
        await this.#guard.release();
        return;
      }
      await this.#guard.complete(
        new CachedResponse({
          status: response.status,
          headers: this.#owner.replayableHeaders(response.headers),
          body: response.body,
        }),
      );
    } catch (error) {
      this.#owner.reportError(error);
    }
  }

  /** Releases the claim: the handler failed, a retry runs it again. */
  async abandon(): Promise<void> {
    if (this.#guard.settled) return;
    await this.#guard.release().catch((error: unknown) => {
      this.#owner.reportError(error);
    });
  }
}

/**
 * The framework-agnostic HTTP layer: parses and scopes the key, answers replays and conflicts
 * with RFC 9457 problems, and lets the winner run. Adapters (`idempotent/express`,
 * `idempotent/fastify`, `idempotent/hono`, `withIdempotency`) are thin wrappers around it.
 *
 * @example
 * ```ts
 * const http = new HttpIdempotency({ store, scope: (request) => request.header("x-api-key") });
 * const decision = await http.begin(request);
 * if (decision.kind === "respond") return send(decision.response);
 * if (decision.kind === "run") await decision.exchange.finish(await runHandler());
 * ```
 */
export class HttpIdempotency {
  readonly #idempotency: Idempotency;
  readonly #scope: HttpIdempotencyOptions["scope"];
  readonly #headerName: string;
  readonly #methods: ReadonlySet<string>;
  readonly #required: boolean;
  readonly #fingerprintHeaders: readonly string[];
  readonly #fingerprintStrategy: FingerprintStrategy;
  readonly #waitMs: number;
  readonly #cacheStatus: (status: number) => boolean;
  readonly #excluded: ReadonlySet<string>;
  readonly #onError: (error: unknown) => void;
  /** Largest response body cached. */
  readonly maxResponseBytes: number;
  /** Largest request body fingerprinted. */
  readonly maxRequestBytes: number;

  constructor(options: HttpIdempotencyOptions) {
    if (options.scope !== "global" && typeof options.scope !== "function") {
      throw new InvalidArgumentError(
        "scope",
        'give a function of the request returning the caller, or "global" for one shared key space',
      );
    }
    this.#fingerprintStrategy = options.fingerprintStrategy ?? DefaultFingerprintStrategy;
    this.#idempotency = new Idempotency({
      store: options.store,
      fingerprintStrategy: this.#fingerprintStrategy,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(options.retentionTtlMs === undefined ? {} : { retentionTtlMs: options.retentionTtlMs }),
    });
    this.#scope = options.scope;
    this.#headerName = (options.headerName ?? "Idempotency-Key").toLowerCase();
    this.#methods = new Set((options.methods ?? ["POST", "PATCH"]).map((m) => m.toUpperCase()));
    this.#required = options.required ?? false;
    this.#fingerprintHeaders = (options.fingerprintHeaders ?? []).map((h) => h.toLowerCase());
    this.#waitMs = options.waitMs ?? 0;
    this.#cacheStatus = options.cacheStatus ?? ((status) => status < 500 && status !== 429);
    this.#excluded = new Set(
      (options.excludedHeaders ?? defaultExcludedHeaders).map((h) => h.toLowerCase()),
    );
    this.#onError = options.onError ?? (() => undefined);
    this.maxResponseBytes = options.maxResponseBytes ?? 1024 * 1024;
    this.maxRequestBytes = options.maxRequestBytes ?? 1024 * 1024;
  }

  /** Whether the layer applies to requests of `method`. */
  applies(method: string): boolean {
    return this.#methods.has(method.toUpperCase());
  }

  /** Decides what happens to a request: pass it through, answer it, or run it as the winner. */
  async begin(request: IdempotentHttpRequest): Promise<HttpDecision> {
    if (!this.applies(request.method)) return { kind: "pass" };
    const headerValue = request.header(this.#headerName);
    if (headerValue === undefined) {
      return this.#required
        ? this.#respond("key-required", `send an ${this.#headerName} header with this request`)
        : { kind: "pass" };
    }
    const key = this.#key(request, headerValue);
    if (key instanceof CachedResponse) return { kind: "respond", response: key };
    const body =
      typeof request.body === "string"
        ? encoder.encode(request.body)
        : (request.body ?? new Uint8Array());
    if (body.byteLength > this.maxRequestBytes) {
      return this.#respond("request-too-large", `the body exceeds ${this.maxRequestBytes} bytes`);
    }
    const fingerprint = this.#fingerprintStrategy.compute(this.#operation(request), body);
    let claim;
    try {
      claim = await this.#idempotency.claim(key, { fingerprint }, { waitMs: this.#waitMs });
    } catch (error) {
      if (error instanceof StoreError) {
        this.#onError(error);
        return this.#respond("store-unavailable", "retry shortly", [["retry-after", "1"]]);
      }
      if (error instanceof MalformedRecordError) {
        this.#onError(error);
        return this.#respond("record-corrupt", "the stored record for this key cannot be read");
      }
      throw error;
    }
    switch (claim.kind) {
      case "claimed":
        return { kind: "run", exchange: new HttpExchange(claim.guard, this) };
      case "replayed":
        return {
          kind: "respond",
          response: new CachedResponse({
            status: claim.response.status,
            headers: [...claim.response.headers, [replayedHeader, "true"]],
            body: claim.response.body,
          }),
        };
      case "in-flight": {
        const seconds = String(Math.max(1, Math.ceil(claim.retryAfterMs / 1000)));
        return this.#respond("in-flight", "the first request with this key is still running", [
          ["retry-after", seconds],
        ]);
      }
      case "fingerprint-mismatch":
        return this.#respond(
          "fingerprint-mismatch",
          "this key was used with another method, path or body",
        );
    }
  }

  /** @internal Whether a response of this status and size is cached. */
  isCacheable(response: IdempotentHttpResponse): boolean {
    return this.#cacheStatus(response.status) && response.body.byteLength <= this.maxResponseBytes;
  }

  /** @internal The headers of `headers` that are replayed. */
  replayableHeaders(headers: HeaderPairs): HeaderPairs {
    return headers.filter(([name]) => !this.#excluded.has(name.toLowerCase()));
  }

  /** @internal */
  reportError(error: unknown): void {
    this.#onError(error);
  }

  #key(request: IdempotentHttpRequest, headerValue: string): IdempotencyKey | CachedResponse {
    const raw = parseIdempotencyKeyHeader(headerValue);
    if (raw === undefined) {
      return problemResponse("invalid-key", "expected a quoted string or a token");
    }
    try {
      const key = IdempotencyKey.parse(raw);
      if (this.#scope === "global") return key;
      const caller = this.#scope(request);
      if (caller === undefined || caller === "") {
        return problemResponse("scope-missing", "this request carries no caller identity");
      }
      // Percent-encoding keeps any caller identity within the key rules.
      const scoped = `${encodeURIComponent(caller)}/${key.value}`;
      if (encoder.encode(scoped).byteLength > maxKeyBytes) {
        return problemResponse("invalid-key", "the key is too long");
      }
      return IdempotencyKey.fromJSON(scoped);
    } catch (error) {
      if (error instanceof InvalidKeyError) return problemResponse("invalid-key", error.message);
      throw error;
    }
  }

  #operation(request: IdempotentHttpRequest): string {
    let operation = `${request.method.toUpperCase()} ${request.path}`;
    for (const name of this.#fingerprintHeaders) {
      operation += `\n${name}: ${request.header(name) ?? ""}`;
    }
    return operation;
  }

  #respond(
    name: Parameters<typeof problemResponse>[0],
    detail: string,
    headers: readonly (readonly [string, string])[] = [],
  ): HttpDecision {
    return { kind: "respond", response: problemResponse(name, detail, headers) };
  }
}
