import { CachedResponse, type CachedResponseParts } from "../core/cached-response.ts";
import type { FencingToken } from "../core/fencing-token.ts";
import type { ClaimGuard } from "../execution/claim-guard.ts";

/** What an {@link HttpExchange} needs of the policy. */
export interface ExchangePolicy {
  readonly cacheStatus: (status: number) => boolean;
  readonly maxResponseBytes: number;
  readonly excludedHeaders: ReadonlySet<string>;
  readonly onError: (error: unknown) => void;
}

/**
 * A request that won its key. The adapter runs the handler, then settles the exchange exactly
 * once by the handler's outcome: {@link HttpExchange.complete} with its response, or
 * {@link HttpExchange.release} when it failed, or {@link HttpExchange.abandon} when its answer
 * was torn down mid-way. A client that disconnects settles nothing: the handler's response is
 * still stored when it ends.
 *
 * @example
 * ```ts
 * const decision = await http.begin(request, [request]);
 * if (decision.kind === "run") {
 *   const response = await handler(request, { signal: decision.exchange.signal });
 *   await decision.exchange.complete(response);
 * }
 * ```
 */
export class HttpExchange {
  readonly #guard: ClaimGuard;
  readonly #policy: ExchangePolicy;

  /** @internal Built by `HttpIdempotency.begin`. */
  constructor(guard: ClaimGuard, policy: ExchangePolicy) {
    this.#guard = guard;
    this.#policy = policy;
  }

  /** Aborted when the claim is lost while the handler runs; stop long work then. */
  get signal(): AbortSignal {
    return this.#guard.signal;
  }

  /** The claim's fencing token, e.g. to pass to a downstream system that checks it. */
  get fencingToken(): FencingToken {
    return this.#guard.fencingToken;
  }

  /** Whether the exchange was completed or released. */
  get settled(): boolean {
    return this.#guard.settled;
  }

  /**
   * Stores the handler's response if its status and size are cacheable, else releases the
   * claim; `undefined` (a response that could not be captured whole) releases too. Failures
   * go to `onError`, never to the caller: the response is sent either way.
   */
  async complete(response: CachedResponseParts | undefined): Promise<void> {
    if (this.#guard.settled) return;
    const cached = response === undefined ? undefined : this.#cacheable(response);
    if (cached === undefined) {
      await this.release();
      return;
    }
    try {
      await this.#guard.complete(cached);
    } catch (error) {
      this.#policy.onError(error);
    }
  }

  /** Releases the claim: the handler failed, so a retry runs it again. */
  async release(): Promise<void> {
    if (this.#guard.settled) return;
    try {
      await this.#guard.release();
    } catch (error) {
      this.#policy.onError(error);
    }
  }

  /**
   * Gives the claim up when the handler's outcome cannot be known: its answer was torn down
   * mid-way (the client left during a streamed response, or the handler failed after it
   * started answering). The key is not released: it stays in flight until its lease ends,
   * then a retry runs.
   */
  abandon(): void {
    if (!this.#guard.settled) this.#guard.abandon();
  }

  #cacheable(response: CachedResponseParts): CachedResponse | undefined {
    const { cacheStatus, maxResponseBytes, excludedHeaders } = this.#policy;
    if (!cacheStatus(response.status) || response.body.byteLength > maxResponseBytes) {
      return undefined;
    }
    try {
      return new CachedResponse({
        status: response.status,
        headers: response.headers.filter(([name]) => !excludedHeaders.has(name.toLowerCase())),
        body: response.body,
      });
    } catch (error) {
      // A status or header the cache cannot hold (a 1xx, a header with a line break): serve,
      // release, and say why.
      this.#policy.onError(error);
      return undefined;
    }
  }
}
