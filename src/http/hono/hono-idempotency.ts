import type { Context, Env, MiddlewareHandler } from "hono";
import { captureResponse } from "../capture-response.ts";
import { HttpIdempotency, type HttpRequestView } from "../http-idempotency.ts";
import type { HttpIdempotencyOptions } from "../http-options.ts";
import { attachClaim } from "../request-claim.ts";
import { requestPath } from "../request-path.ts";
import { cachedToResponse } from "../web-response.ts";
import { readHonoBody } from "./read-hono-body.ts";
import { capturedFromSource, rememberResponseBodies } from "./response-sources.ts";

/**
 * Options of the Hono middleware; `scope` gets Hono's `Context` (so `c.get("user")` and
 * whatever your authentication set).
 *
 * @example
 * ```ts
 * const options: HonoIdempotencyOptions = { store, scope: (c) => c.req.header("x-api-key") };
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's own default Env
export type HonoIdempotencyOptions<E extends Env = any> = HttpIdempotencyOptions<[c: Context<E>]>;

function view(c: Context): HttpRequestView {
  // The request as it came: reading the body replaces `c.req.raw` with one built on demand.
  const raw = c.req.raw;
  return {
    method: raw.method,
    path: requestPath(raw.url),
    header: (name) => raw.headers.get(name) ?? undefined,
    // Read so that the route still reads the body as sent.
    readBody: (limit) => readHonoBody(c, limit),
  };
}

/**
 * Hono 4 middleware: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems. Only requests it
 * guards have their body read, at most `maxRequestBytes` of it. The route's claim, with an
 * `AbortSignal` for long work, is `idempotencyOf(c)`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { idempotency } from "idempotent/hono";
 *
 * const app = new Hono();
 * app.use("/orders/*", idempotency({ store, scope: (c) => c.req.header("x-api-key") }));
 * app.post("/orders", async (c) => c.json(await createOrder(await c.req.json()), 201));
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Hono's own default Env
export function idempotency<E extends Env = any>(
  options: HonoIdempotencyOptions<E>,
): MiddlewareHandler<E> {
  const http = new HttpIdempotency(options);
  return async function idempotencyMiddleware(c, next) {
    if (!http.applies(c.req.method)) {
      await next();
      return;
    }
    const decision = await http.begin(view(c), c);
    if (decision.kind === "pass") {
      await next();
      return;
    }
    if (decision.kind === "respond") {
      // Replaces, rather than merges with, headers a middleware set earlier.
      c.res = undefined;
      c.res = cachedToResponse(decision.response);
      return;
    }
    const { exchange } = decision;
    attachClaim(c, exchange);
    rememberResponseBodies(c);
    let captured: Awaited<ReturnType<typeof captureResponse>> | undefined;
    let source: ReturnType<typeof capturedFromSource>;
    try {
      // A handler's error becomes a response through the app's error handler: its status
      // decides, as in every adapter.
      await next();
      // Built by a helper from bytes: captured from them, the Response goes out untouched.
      // Anything else (a stream, a Response built by hand) is read, up to the limit.
      source = capturedFromSource(c.res);
      if (source === undefined) {
        captured = await captureResponse(c.res, http.policy.maxResponseBytes);
      }
    } catch (error) {
      await exchange.release();
      throw error;
    }
    if (captured === undefined) {
      await exchange.complete(source);
      return;
    }
    await exchange.complete(captured.captured);
    c.res = undefined;
    c.res = captured.response;
  };
}
