/**
 * The `Idempotency-Key` header for fetch handlers: Bun, Deno, Workers, Next.js route handlers.
 *
 * @module idempotent/fetch
 */
export { withIdempotency, type FetchHandler } from "./with-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
