import type { MiddlewareHandler } from "hono";
import { captureResponse } from "../capture-response.ts";
import { HttpIdempotency, type HttpIdempotencyOptions } from "../http-idempotency.ts";

/**
 * Hono 4 middleware: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { idempotency } from "idempotent/hono";
 *
 * const app = new Hono();
 * app.use("/orders/*", idempotency({ store, scope: (request) => request.header("x-api-key") }));
 * app.post("/orders", async (c) => c.json(await createOrder(await c.req.json()), 201));
 * ```
 */
export function idempotency(options: HttpIdempotencyOptions): MiddlewareHandler {
  const http = new HttpIdempotency(options);
  return async (c, next) => {
    if (!http.applies(c.req.method)) {
      await next();
      return;
    }
    const url = new URL(c.req.url);
    const decision = await http.begin({
      method: c.req.method,
      path: url.pathname + url.search,
      header: (name) => c.req.header(name),
      // Hono keeps the body, so handlers can still read it.
      body: new Uint8Array(await c.req.arrayBuffer()),
    });
    if (decision.kind === "pass") {
      await next();
      return;
    }
    if (decision.kind === "respond") return decision.response.toResponse();
    try {
      await next();
    } catch (error) {
      await decision.exchange.abandon();
      throw error;
    }
    if (c.error !== undefined) {
      await decision.exchange.abandon();
      return;
    }
    const { response, captured } = await captureResponse(c.res, http.maxResponseBytes);
    await decision.exchange.finish(captured);
    c.res = undefined;
    c.res = response;
    return;
  };
}
