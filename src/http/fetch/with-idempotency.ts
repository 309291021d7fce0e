import { captureResponse } from "../capture-response.ts";
import { HttpIdempotency, type HttpIdempotencyOptions } from "../http-idempotency.ts";

/** A fetch-style handler, as in Bun, Deno, Workers and Next.js route handlers. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/**
 * Wraps a fetch handler with idempotency: the first request with a key runs it, retries get
 * the cached response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems.
 *
 * @example
 * ```ts
 * import { withIdempotency } from "idempotent/http";
 * import { MemoryStore } from "idempotent/memory";
 *
 * export const POST = withIdempotency(
 *   async (request) => Response.json(await createOrder(await request.json()), { status: 201 }),
 *   { store: new MemoryStore(), scope: (request) => request.header("x-api-key") },
 * );
 * ```
 */
export function withIdempotency(
  handler: FetchHandler,
  options: HttpIdempotencyOptions,
): (request: Request) => Promise<Response> {
  const http = new HttpIdempotency(options);
  return async (request) => {
    if (!http.applies(request.method)) return handler(request);
    const url = new URL(request.url);
    const decision = await http.begin({
      method: request.method,
      path: url.pathname + url.search,
      header: (name) => request.headers.get(name) ?? undefined,
      body: new Uint8Array(await request.clone().arrayBuffer()),
    });
    if (decision.kind === "pass") return handler(request);
    if (decision.kind === "respond") return decision.response.toResponse();
    let response: Response;
    try {
      response = await handler(request);
    } catch (error) {
      await decision.exchange.abandon();
      throw error;
    }
    const { response: sent, captured } = await captureResponse(response, http.maxResponseBytes);
    await decision.exchange.finish(captured);
    return sent;
  };
}
