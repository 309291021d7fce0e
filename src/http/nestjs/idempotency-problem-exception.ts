import { HttpException } from "@nestjs/common";

/** An RFC 9457 problem as the HTTP layer answers it. */
export interface Problem {
  /** `urn:idempotent:problem:<name>`, e.g. `urn:idempotent:problem:in-flight`. */
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
}

/**
 * What `@Idempotent()` throws instead of running the handler: a key that is invalid, missing
 * or in flight, reused for another request, a caller without identity, a store outage.
 * `getResponse()` is the RFC 9457 problem; sent as it is (by Nest's default filter, or by a
 * filter of yours that sends it), it goes out as `application/problem+json`. Headers the
 * client needs (`Retry-After`) are already on the response.
 *
 * @example
 * ```ts
 * @Catch(IdempotencyProblemException)
 * class ProblemFilter implements ExceptionFilter {
 *   catch(exception: IdempotencyProblemException, host: ArgumentsHost) {
 *     host.switchToHttp().getResponse().status(exception.getStatus()).json({ error: exception.problem.title });
 *   }
 * }
 * ```
 */
export class IdempotencyProblemException extends HttpException {
  /** The problem, as a plain object. */
  readonly problem: Problem;

  /**
   * @param onSend Called when the problem itself is serialized as the body, to label it
   *   `application/problem+json` (a filter that sends a body of its own keeps its type).
   */
  constructor(problem: Problem, onSend: () => void = () => undefined) {
    const body = { ...problem };
    // JSON.stringify calls toJSON while the response is still open; not enumerable, so the
    // body a filter sees is the problem alone.
    Object.defineProperty(body, "toJSON", {
      value: () => {
        onSend();
        return problem;
      },
    });
    super(body, problem.status);
    this.problem = problem;
  }
}
