export { withIdempotency, type FetchHandler } from "./with-idempotency.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
