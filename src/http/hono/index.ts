/**
 * The `Idempotency-Key` header for Hono 4, as a middleware.
 *
 * @module idempotent/hono
 */
export { idempotency, type HonoIdempotencyOptions } from "./hono-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
