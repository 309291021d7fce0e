export {
  idempotency,
  type ExpressIdempotencyOptions,
  type ExpressMiddleware,
  type ExpressRequestLike,
} from "./express-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
