import type { FencingToken } from "../core/fencing-token.ts";

/** What a handler can know of the claim its request won. */
export interface RequestClaim {
  /** Aborted when the claim is lost while the handler runs; stop long work then. */
  readonly signal: AbortSignal;
  /** The claim's fencing token, e.g. to pass to a downstream system that checks it. */
  readonly fencingToken: FencingToken;
}

const claims = new WeakMap<object, RequestClaim>();

/**
 * The claim a request won, looked up by the framework object the adapter saw: the Express
 * `req`, the Fastify `request`, the Hono `Context`, or the fetch `Request`. `undefined` when
 * the request runs unguarded (no key, another method).
 *
 * @example
 * ```ts
 * app.post("/payments", async (request, response) => {
 *   const claim = idempotencyOf(request);
 *   const payment = await provider.charge(request.body, { signal: claim?.signal });
 *   response.status(201).json(payment);
 * });
 * ```
 */
export function idempotencyOf(target: object): RequestClaim | undefined {
  return claims.get(target);
}

/**
 * Records the claim of the request known by `target`; adapters call it before the handler runs.
 *
 * @example
 * ```ts
 * attachClaim(request, decision.exchange);
 * ```
 */
export function attachClaim(target: object, claim: RequestClaim): void {
  claims.set(target, claim);
}
