import { CachedResponse } from "../core/cached-response.ts";
import { MalformedRecordError } from "../errors/malformed-record-error.ts";
import { StoreCapacityError } from "../errors/store-capacity-error.ts";
import { StoreError } from "../errors/store-error.ts";
import { Idempotency } from "../execution/idempotency.ts";
import { HttpExchange } from "./http-exchange.ts";
import { resolveHttpPolicy, type HttpIdempotencyOptions, type HttpPolicy } from "./http-options.ts";
import { parseIdempotencyKeyHeader } from "./parse-idempotency-key.ts";
import { problemResponse, type ProblemName } from "./problem.ts";
import { clientKeyProblem, scopedKey } from "./scoped-key.ts";
import { canonicalJson } from "../utils/canonical-json.ts";
import { canonicalJsonText } from "../utils/canonical-json-text.ts";

/**
 * A request as the HTTP layer sees it; each adapter builds one over its framework's request.
 *
 * @example
 * ```ts
 * const view: HttpRequestView = {
 *   method: request.method,
 *   path: new URL(request.url).pathname,
 *   header: (name) => request.headers.get(name) ?? undefined,
 *   readBody: (limit) => readWebBody(request.clone().body, limit),
 * };
 * ```
 */
export interface HttpRequestView {
  /** The method, any case. */
  readonly method: string;
  /** Path and query, e.g. `/orders?dry=1`. */
  readonly path: string;
  /** A header value by lower-case name; repeated headers joined with `, `. */
  header(name: string): string | undefined;
  /**
   * Reads the body, at most `limit` bytes of it: the raw bytes, or the text of a body the
   * framework already parsed (serialized again); `undefined` when it is longer than `limit`.
   * Called only for requests the layer guards, after the key and the caller were accepted.
   * An adapter that already holds the body may return it directly, without a promise.
   */
  readBody(
    limit: number,
  ): Promise<Uint8Array | string | undefined> | Uint8Array | string | undefined;
}

/** Header added to replayed responses. */
export const replayedHeader = "idempotent-replayed";

/**
 * What to do with a request, from {@link HttpIdempotency.begin}: let it through untouched,
 * answer it (a replay or a problem), or run the handler as the key's winner.
 *
 * @example
 * ```ts
 * const decision: HttpDecision = await http.begin(view, request);
 * if (decision.kind === "respond") return decision.response.toResponse();
 * ```
 */
export type HttpDecision =
  | { readonly kind: "pass" }
  | { readonly kind: "respond"; readonly response: CachedResponse }
  | { readonly kind: "run"; readonly exchange: HttpExchange };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const pass: HttpDecision = Object.freeze({ kind: "pass" });

type Respond = Extract<HttpDecision, { kind: "respond" }>;

function respond(
  name: ProblemName,
  detail?: string,
  headers?: readonly (readonly [string, string])[],
): Respond {
  return { kind: "respond", response: problemResponse(name, detail, headers) };
}

/**
 * The framework-agnostic HTTP layer: checks and scopes the key, reads the body within its
 * limit, answers replays and conflicts with RFC 9457 problems, and lets the winner run.
 * Adapters (`idempotent/express`, `idempotent/fastify`, `idempotent/hono`,
 * `idempotent/fetch`) are thin wrappers around it; `TArgs` are the framework objects they
 * hand to `scope`.
 *
 * `begin` never throws: a store failure is a 503 with `Retry-After`, a corrupt record or a
 * programming error a 500 without details (reported to `onError`).
 *
 * @example
 * ```ts
 * const http = new HttpIdempotency<[Request]>({ store, scope: (request) => request.headers.get("x-api-key") ?? undefined });
 * const decision = await http.begin(view, request);
 * if (decision.kind === "respond") return send(decision.response);
 * if (decision.kind === "run") await decision.exchange.complete(await runHandler());
 * ```
 */
export class HttpIdempotency<TArgs extends readonly unknown[] = readonly unknown[]> {
  /** The options with their defaults, frozen. */
  readonly policy: HttpPolicy<TArgs>;
  readonly #idempotency: Idempotency;

  /** @throws {@link idempotent!InvalidArgumentError} on an option out of range. */
  constructor(options: HttpIdempotencyOptions<TArgs>) {
    this.policy = resolveHttpPolicy(options);
    const { store, fingerprintStrategy, leaseTtlMs, retentionTtlMs, onEvent } = this.policy;
    this.#idempotency = new Idempotency({
      store,
      fingerprintStrategy,
      ...(onEvent === undefined ? {} : { onEvent }),
      ...(leaseTtlMs === undefined ? {} : { leaseTtlMs }),
      ...(retentionTtlMs === undefined ? {} : { retentionTtlMs }),
    });
  }

  /** Whether the layer applies to requests of `method`. */
  applies(method: string): boolean {
    return this.policy.methods.has(method.toUpperCase());
  }

  /**
   * Decides what happens to a request: pass it through, answer it, or run it as the winner.
   * `scopeArgs` are handed to the `scope` option.
   */
  async begin(request: HttpRequestView, ...scopeArgs: TArgs): Promise<HttpDecision> {
    try {
      return await this.#decide(request, scopeArgs);
    } catch (error) {
      this.policy.onError(error);
      if (error instanceof StoreError || error instanceof StoreCapacityError) {
        return respond("store-unavailable", "retry shortly", [["retry-after", "1"]]);
      }
      if (error instanceof MalformedRecordError) return respond("record-corrupt");
      return respond("internal-error");
    }
  }

  async #decide(request: HttpRequestView, scopeArgs: TArgs): Promise<HttpDecision> {
    const policy = this.policy;
    if (!this.applies(request.method)) return pass;
    const headerValue = request.header(policy.headerName);
    if (headerValue === undefined && policy.keyFromBody === undefined) return this.#noKey();
    const headerKey = headerValue === undefined ? undefined : clientKey(headerValue);
    if (headerKey !== undefined && typeof headerKey !== "string") return headerKey;
    // With a key in the header, the caller is checked before the body is read; a key in the
    // body is found first, so a request with no key anywhere passes unscoped.
    // Awaited only when it is a promise: most scopes and most adapters answer at once.
    let caller = headerKey === undefined ? undefined : this.#caller(scopeArgs);
    if (isThenable(caller)) caller = await caller;
    if (caller !== undefined && caller !== null && typeof caller === "object") return caller;
    const declared = Number(request.header("content-length"));
    if (declared > policy.maxRequestBytes) return this.#tooLarge();
    let read = request.readBody(policy.maxRequestBytes);
    if (isThenable(read)) read = await read;
    const body = typeof read === "string" ? encoder.encode(read) : read;
    if (body === undefined || body.byteLength > policy.maxRequestBytes) return this.#tooLarge();
    const text = isJson(request.header("content-type")) ? decoder.decode(body) : undefined;
    const json = text === undefined ? noJson : parseJson(text);
    let rawKey = headerKey;
    if (rawKey === undefined) {
      const fromBody = json === noJson ? undefined : policy.keyFromBody?.(json);
      if (fromBody === undefined) return this.#noKey();
      const checked = clientKey(fromBody, false);
      if (typeof checked !== "string") return checked;
      rawKey = checked;
    }
    if (caller === undefined) {
      caller = this.#caller(scopeArgs);
      if (isThenable(caller)) caller = await caller;
    }
    if (caller !== null && typeof caller === "object") return caller;
    const key = scopedKey(caller, rawKey);
    // One request is one request on every adapter: JSON as canonical JSON, else the bytes.
    const fingerprinted =
      json === noJson || text === undefined
        ? body
        : policy.fingerprintBody === undefined
          ? exactJson(text, json, body)
          : canonicalJson(policy.fingerprintBody(json));
    const fingerprint = policy.fingerprintStrategy.compute(this.#operation(request), fingerprinted);
    const claim = await this.#idempotency.claim(key, { fingerprint }, { waitMs: policy.waitMs });
    switch (claim.kind) {
      case "claimed":
        return { kind: "run", exchange: new HttpExchange(claim.guard, policy) };
      case "replayed":
        return { kind: "respond", response: claim.response.withHeader(replayedHeader, "true") };
      case "in-flight": {
        const seconds = String(Math.max(1, Math.ceil(claim.retryAfterMs / 1000)));
        return respond("in-flight", "the first request with this key is still running", [
          ["retry-after", seconds],
        ]);
      }
      case "fingerprint-mismatch":
        return respond(
          "fingerprint-mismatch",
          "this key was used with another method, path or body",
        );
    }
  }

  /**
   * The caller's identity (`null` for the global key space), or the problem to answer; a
   * promise only when `scope` gave one.
   */
  #caller(scopeArgs: TArgs): string | null | Respond | Promise<string | null | Respond> {
    const { scope } = this.policy;
    if (scope === "global") return null;
    const caller = scope(...scopeArgs);
    return isThenable(caller) ? Promise.resolve(caller).then(checkCaller) : checkCaller(caller);
  }

  /** A request without a key: refused when keys are required, else let through. */
  #noKey(): HttpDecision {
    const { required, headerName } = this.policy;
    return required
      ? respond("key-required", `send an ${headerName} header with this request`)
      : pass;
  }

  #tooLarge(): HttpDecision {
    return respond("request-too-large", `the body exceeds ${this.policy.maxRequestBytes} bytes`);
  }

  #operation(request: HttpRequestView): string {
    let operation = `${request.method.toUpperCase()} ${request.path}`;
    for (const name of this.policy.fingerprintHeaders) {
      operation += `\n${name}: ${request.header(name) ?? ""}`;
    }
    return operation;
  }
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === "function";
}

/** A `scope` function's answer, checked: the caller, or the problem to answer. */
function checkCaller(caller: unknown): string | Respond {
  if (caller === undefined || caller === "") {
    return respond("scope-missing", "this request carries no caller identity");
  }
  if (typeof caller !== "string") {
    throw new TypeError(`scope must return a string or undefined, got ${typeof caller}`);
  }
  return caller;
}

/** A client's key from a header value (or, unquoted, from a body), or the problem to answer. */
function clientKey(value: string, fromHeader = true): string | Respond {
  const raw = fromHeader ? parseIdempotencyKeyHeader(value) : value;
  if (raw === undefined) return respond("invalid-key", "expected a quoted string or a token");
  const invalid = typeof raw === "string" ? clientKeyProblem(raw) : "expected a string";
  return invalid === undefined ? raw : respond("invalid-key", invalid);
}

/** Marks a body that is not JSON (a JSON body may well be `null`). */
const noJson: unique symbol = Symbol("not JSON");

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /\bjson\b/i.test(contentType);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return noJson; // not JSON after all: fingerprinted as bytes, as the handler will see them
  }
}

/**
 * The canonical JSON of a body, numbers as the decimals they spell (so two amounts a double
 * cannot tell apart are two requests); a body nested too deep to write back is fingerprinted
 * as its bytes.
 */
function exactJson(text: string, json: unknown, body: Uint8Array): string | Uint8Array {
  try {
    return canonicalJsonText(text, json);
  } catch (error) {
    if (error instanceof SyntaxError) return body;
    throw error;
  }
}
