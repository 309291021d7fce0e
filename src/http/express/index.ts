export {
  idempotency,
  type ExpressMiddleware,
  type ExpressRequestLike,
} from "./express-idempotency.ts";
