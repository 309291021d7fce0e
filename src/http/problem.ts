import { CachedResponse } from "../core/cached-response.ts";

/** Every problem the HTTP layer answers with, its status and title, defined once. */
export const problems = {
  "invalid-key": { status: 400, title: "Invalid Idempotency-Key header" },
  "key-required": { status: 400, title: "Idempotency-Key header required" },
  "scope-missing": { status: 401, title: "No caller identity for the idempotency key" },
  "request-too-large": { status: 413, title: "Request body too large to fingerprint" },
  "in-flight": { status: 409, title: "A request with this idempotency key is in flight" },
  "fingerprint-mismatch": {
    status: 422,
    title: "Idempotency key reused for a different request",
  },
  "store-unavailable": { status: 503, title: "Idempotency store unavailable" },
  "record-corrupt": { status: 500, title: "Stored idempotency record is corrupt" },
  "internal-error": { status: 500, title: "Internal error in the idempotency layer" },
} as const;

/** One of the problem names. */
export type ProblemName = keyof typeof problems;

/**
 * The `type` URI of a problem: `urn:idempotent:problem:<name>`.
 *
 * @example
 * ```ts
 * problemType("in-flight"); // "urn:idempotent:problem:in-flight"
 * ```
 */
export function problemType(name: ProblemName): string {
  return `urn:idempotent:problem:${name}`;
}

/**
 * An RFC 9457 `application/problem+json` response for `name`; `detail` is left out when not
 * given (a server-side failure tells the client nothing of its internals).
 *
 * @example
 * ```ts
 * const response = problemResponse("in-flight", "retry in 1 second", [["retry-after", "1"]]);
 * response.status; // 409
 * ```
 */
export function problemResponse(
  name: ProblemName,
  detail?: string,
  headers: readonly (readonly [string, string])[] = [],
): CachedResponse {
  const { status, title } = problems[name];
  return CachedResponse.from(
    { type: problemType(name), title, status, ...(detail === undefined ? {} : { detail }) },
    { status, headers: [["content-type", "application/problem+json"], ...headers] },
  );
}
