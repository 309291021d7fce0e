import { captureResponse } from "../capture-response.ts";
import { HttpIdempotency } from "../http-idempotency.ts";
import type { HttpIdempotencyOptions } from "../http-options.ts";
import { attachClaim } from "../request-claim.ts";
import { requestPath } from "../request-path.ts";
import { cachedToResponse } from "../web-response.ts";
import { readRequestBody, type RequestBodyRead } from "./read-request-body.ts";

/**
 * A fetch-style handler, as in Bun, Deno, Workers and Next.js route handlers, with whatever
 * arguments follow the request (Next.js passes `{ params }`).
 *
 * @example
 * ```ts
 * const handler: FetchHandler<[{ params: Promise<{ id: string }> }]> = async (request, { params }) =>
 *   Response.json({ id: (await params).id });
 * ```
 */
export type FetchHandler<TArgs extends unknown[] = []> = (
  request: Request,
  ...args: TArgs
) => Response | Promise<Response>;

/**
 * Wraps a fetch handler with idempotency: the first request with a key runs it, retries get
 * the cached response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems.
 * Arguments after the request are passed on, typed, and `scope` gets them all. Only requests
 * it guards have their body read, at most `maxRequestBytes` of it, and the handler reads the
 * body as sent: a plain `Request` is read in place and the handler gets a copy of it over the
 * bytes read; any other (a subclass such as Next.js's `NextRequest`, one carrying a router's
 * own properties) is read from a clone and handed on as it came. The handler's claim, with an
 * `AbortSignal` for long work, is `idempotencyOf(request)`.
 *
 * @example
 * ```ts
 * import { withIdempotency } from "idempotent/fetch";
 * import { MemoryStore } from "idempotent/memory";
 *
 * export const POST = withIdempotency(
 *   async (request: Request, { params }: { params: Promise<{ id: string }> }) =>
 *     Response.json(await createOrder((await params).id, await request.json()), { status: 201 }),
 *   { store: new MemoryStore(), scope: (request) => request.headers.get("x-api-key") ?? undefined },
 * );
 * ```
 */
export function withIdempotency<TArgs extends unknown[] = []>(
  handler: FetchHandler<TArgs>,
  options: HttpIdempotencyOptions<[request: Request, ...args: TArgs]>,
): (request: Request, ...args: TArgs) => Promise<Response> {
  const http = new HttpIdempotency(options);
  return async function idempotentHandler(request, ...args) {
    if (!http.applies(request.method)) return handler(request, ...args);
    let read: RequestBodyRead | undefined;
    const decision = await http.begin(
      {
        method: request.method,
        path: requestPath(request.url),
        header: (name) => request.headers.get(name) ?? undefined,
        readBody: async (limit) => {
          read = await readRequestBody(request, limit);
          return read.body;
        },
      },
      request,
      ...args,
    );
    if (decision.kind === "respond") return cachedToResponse(decision.response);
    // The handler reads the body as sent: from the request itself, or from a copy over the
    // bytes read here.
    const handled = read === undefined ? request : read.request();
    if (decision.kind === "pass") return handler(handled, ...args);
    const { exchange } = decision;
    attachClaim(request, exchange);
    attachClaim(handled, exchange);
    let captured: Awaited<ReturnType<typeof captureResponse>>;
    try {
      captured = await captureResponse(
        await handler(handled, ...args),
        http.policy.maxResponseBytes,
      );
    } catch (error) {
      // The handler failed, or its response body did: a retry runs it again.
      await exchange.release();
      throw error;
    }
    await exchange.complete(captured.captured);
    return captured.response;
  };
}
