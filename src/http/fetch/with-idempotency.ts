import { captureResponse } from "../capture-response.ts";
import { HttpIdempotency } from "../http-idempotency.ts";
import type { HttpIdempotencyOptions } from "../http-options.ts";
import { readWebBody } from "../read-web-body.ts";
import { attachClaim } from "../request-claim.ts";

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
 * it guards have their body read, at most `maxRequestBytes` of it (from a clone: the handler
 * reads the body as sent). The handler's claim, with an `AbortSignal` for long work, is
 * `idempotencyOf(request)`.
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
    const url = new URL(request.url);
    const decision = await http.begin(
      {
        method: request.method,
        path: url.pathname + url.search,
        header: (name) => request.headers.get(name) ?? undefined,
        readBody: (limit) => readWebBody(request.clone().body, limit),
      },
      request,
      ...args,
    );
    if (decision.kind === "pass") return handler(request, ...args);
    if (decision.kind === "respond") return decision.response.toResponse();
    const { exchange } = decision;
    attachClaim(request, exchange);
    let captured: Awaited<ReturnType<typeof captureResponse>>;
    try {
      captured = await captureResponse(
        await handler(request, ...args),
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
