export { idempotency, type FastifyIdempotencyOptions } from "./fastify-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
