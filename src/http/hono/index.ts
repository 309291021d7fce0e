export { idempotency, type HonoIdempotencyOptions } from "./hono-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
