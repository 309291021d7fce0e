/**
 * The `Idempotency-Key` header for Express 4 and 5, as a middleware.
 *
 * @module idempotent/express
 */
export {
  idempotency,
  type ExpressIdempotencyOptions,
  type ExpressMiddleware,
  type ExpressRequestLike,
} from "./express-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
