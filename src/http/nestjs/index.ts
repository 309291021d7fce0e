export { Idempotent } from "./idempotent.ts";
export { IDEMPOTENT_METADATA } from "./idempotent-metadata.ts";
export { IdempotencyInterceptor } from "./idempotency-interceptor.ts";
export { IdempotencyModule, type IdempotencyModuleAsyncOptions } from "./idempotency-module.ts";
export { IdempotencyProblemException, type Problem } from "./idempotency-problem-exception.ts";
export {
  IDEMPOTENCY_OPTIONS,
  type IdempotentOptions,
  type NestIdempotencyOptions,
  type NestRequestLike,
} from "./nest-idempotency-options.ts";
export { idempotencyOf, type RequestClaim } from "../request-claim.ts";
