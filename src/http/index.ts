export { captureResponse, type CapturedResponse } from "./capture-response.ts";
export { withIdempotency, type FetchHandler } from "./fetch/with-idempotency.ts";
export {
  defaultExcludedHeaders,
  HttpExchange,
  HttpIdempotency,
  replayedHeader,
  type HttpDecision,
  type HttpIdempotencyOptions,
  type IdempotentHttpRequest,
  type IdempotentHttpResponse,
} from "./http-idempotency.ts";
export { parseIdempotencyKeyHeader } from "./parse-idempotency-key.ts";
export { problemResponse, problems, problemType, type ProblemName } from "./problem.ts";
