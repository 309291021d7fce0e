/**
 * The framework-neutral HTTP layer the adapters are built on: options, the exchange, captured
 * responses and problem answers.
 *
 * @module idempotent/http
 */
export { captureResponse, type CapturedResponse } from "./capture-response.ts";
export { withIdempotency, type FetchHandler } from "./fetch/with-idempotency.ts";
export { HttpExchange, type ExchangePolicy } from "./http-exchange.ts";
export {
  HttpIdempotency,
  replayedHeader,
  type HttpDecision,
  type HttpRequestView,
} from "./http-idempotency.ts";
export {
  checkHttpOptions,
  defaultExcludedHeaders,
  resolveHttpPolicy,
  type HttpIdempotencyOptions,
  type HttpPolicy,
  type ScopeFunction,
} from "./http-options.ts";
export { parseIdempotencyKeyHeader } from "./parse-idempotency-key.ts";
export { problemResponse, problems, problemType, type ProblemName } from "./problem.ts";
export { readNodeBody } from "./read-node-body.ts";
export { readWebBody } from "./read-web-body.ts";
export { attachClaim, idempotencyOf, type RequestClaim } from "./request-claim.ts";
export { clientKeyProblem, scopedKey } from "./scoped-key.ts";
