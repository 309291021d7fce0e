/**
 * The `Idempotency-Key` header for Fastify 5, as a plugin.
 *
 * @module idempotent/fastify
 */
export { idempotency, type FastifyIdempotencyOptions } from "./fastify-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
