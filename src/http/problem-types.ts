import type { HeaderPairs } from "../core/cached-response.ts";
import type { HttpReply } from "./http-reply.ts";

/**
 * Every problem the HTTP layer answers with (RFC 9457 `application/problem+json`), by kind: its
 * stable `type` URI, its status and its title. The `type` URIs never change between releases;
 * match on them, not on `title` or `detail`.
 *
 * @example
 * ```ts
 * const problem = (await response.json()) as { type: string };
 * if (problem.type === problemTypes["conflict-in-flight"].type) await retryLater(response);
 * ```
 */
export const problemTypes = {
  "invalid-key": {
    type: "https://idempotent.dev/problems/invalid-key",
    status: 400,
    title: "Invalid idempotency key",
  },
  "key-required": {
    type: "https://idempotent.dev/problems/key-required",
    status: 400,
    title: "Idempotency key required",
  },
  "request-too-large": {
    type: "https://idempotent.dev/problems/request-too-large",
    status: 413,
    title: "Request body too large to fingerprint",
  },
  "conflict-in-flight": {
    type: "https://idempotent.dev/problems/conflict-in-flight",
    status: 409,
    title: "A request with this idempotency key is in flight",
  },
  "fingerprint-mismatch": {
    type: "https://idempotent.dev/problems/fingerprint-mismatch",
    status: 422,
    title: "Idempotency key reused for a different request",
  },
  "store-unavailable": {
    type: "https://idempotent.dev/problems/store-unavailable",
    status: 503,
    title: "Idempotency store unavailable",
  },
} as const;

/** One of the keys of {@link problemTypes}. */
export type ProblemKind = keyof typeof problemTypes;

/** Every {@link ProblemKind}, in declaration order. */
export const problemKinds: readonly ProblemKind[] = Object.keys(problemTypes) as ProblemKind[];

/** The media type of every problem body. */
export const problemContentType = "application/problem+json";

/** The JSON body of a problem response (RFC 9457 members). */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

const encoder = new TextEncoder();

/**
 * The reply for a problem of `kind`: its status, `content-type: application/problem+json`, any
 * extra headers (e.g. `retry-after`) and the RFC 9457 body.
 *
 * @example
 * ```ts
 * const reply = problemReply("conflict-in-flight", "retry later", [["retry-after", "1"]]);
 * reply.status; // 409
 * ```
 */
export function problemReply(
  kind: ProblemKind,
  detail: string,
  extraHeaders: HeaderPairs = [],
): HttpReply {
  const { type, status, title } = problemTypes[kind];
  const details: ProblemDetails = { type, title, status, detail };
  return {
    status,
    headers: [["content-type", problemContentType], ...extraHeaders],
    body: encoder.encode(JSON.stringify(details)),
  };
}
