import type { HeaderPairs } from "../core/cached-response.ts";

/**
 * A response the HTTP layer answers with itself, instead of running the handler: a replay or a
 * problem. Adapters write it with their framework's API.
 *
 * @example
 * ```ts
 * const reply: HttpReply = {
 *   status: 409,
 *   headers: [["content-type", "application/problem+json"], ["retry-after", "1"]],
 *   body: new TextEncoder().encode('{"type":"…","status":409}'),
 * };
 * ```
 */
export interface HttpReply {
  /** HTTP status. */
  readonly status: number;
  /** Ordered header pairs; a name may repeat (e.g. `set-cookie` when configured to replay). */
  readonly headers: HeaderPairs;
  /** The body bytes, exactly as they go on the wire. */
  readonly body: Uint8Array;
}

/** Statuses whose responses never carry a body. */
export function isNullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}
