import type { IncomingMessage, ServerResponse } from "node:http";
import type { CachedResponse } from "../../core/cached-response.ts";
import { completeOnEnd } from "../complete-on-end.ts";
import { groupHeaders } from "../header-pairs.ts";
import { HttpIdempotency, type HttpRequestView } from "../http-idempotency.ts";
import type { HttpIdempotencyOptions } from "../http-options.ts";
import { readNodeBody } from "../read-node-body.ts";
import { attachClaim } from "../request-claim.ts";

/** The part of an Express 4/5 request the middleware uses. */
export interface ExpressRequestLike extends IncomingMessage {
  body?: unknown;
  originalUrl?: string;
  /** A request header by name. */
  header(name: string): string | undefined;
}

/**
 * An Express-style middleware.
 *
 * @example
 * ```ts
 * const middleware: ExpressMiddleware = idempotency({ store, scope: "global" });
 * app.use(middleware);
 * ```
 */
export type ExpressMiddleware<TRequest extends ExpressRequestLike = ExpressRequestLike> = (
  request: TRequest,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Options of the Express middleware; `scope` gets Express's own `req` (with `req.user` and
 * whatever your authentication put there).
 *
 * @example
 * ```ts
 * const options: ExpressIdempotencyOptions = { store, scope: (request) => request.header("x-api-key") };
 * ```
 */
export type ExpressIdempotencyOptions<TRequest extends ExpressRequestLike = ExpressRequestLike> =
  HttpIdempotencyOptions<[request: TRequest]>;

/** A parsed body as bytes or text: raw if the parser left it so, serialized again if not. */
function parsedBody(body: unknown): Uint8Array | string {
  if (body instanceof Uint8Array || typeof body === "string") return body;
  return body === undefined || body === null ? "" : JSON.stringify(body);
}

function view(request: ExpressRequestLike): HttpRequestView {
  return {
    method: request.method ?? "GET",
    path: request.originalUrl ?? request.url ?? "/",
    header: (name) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    readBody: async (limit) => {
      // A body parser mounted earlier consumed the stream: fingerprint what it parsed.
      if (request.readableEnded) return parsedBody(request.body);
      const { "content-length": length, "transfer-encoding": encoding } = request.headers;
      if (length === "0" || (length === undefined && encoding === undefined)) return "";
      // Nothing read it yet: read the raw bytes and put them back for a parser mounted later.
      return (await readNodeBody(request, limit))?.bytes;
    },
  };
}

function send(response: ServerResponse, cached: CachedResponse): void {
  response.statusCode = cached.status;
  // Set, not append: a header a middleware set earlier (CORS, say) is not repeated.
  for (const [name, values] of groupHeaders(cached.headers)) {
    response.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  }
  const { body } = cached;
  response.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/**
 * Express 4/5 middleware: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems. Mount it before
 * your body parser: it reads the raw bytes within `maxRequestBytes` and leaves them for the
 * parser. Mounted after it, it fingerprints the parsed body, within the parser's own limit. The route's claim, with an `AbortSignal`
 * for long work, is `idempotencyOf(request)`.
 *
 * A client that disconnects does not release the key: the handler's response is still stored
 * when it ends. The response's status decides what is cached, also for errors that reach
 * Express's error handler (a 5xx releases the key). An answer torn down mid-way (a stream
 * whose client left) keeps the key until its lease ends.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { idempotency } from "idempotent/express";
 *
 * const app = express();
 * app.use(idempotency({ store, scope: (request) => request.header("x-api-key") })); // before the parser
 * app.use(express.json());
 * app.post("/orders", (request, response) => response.status(201).json(createOrder(request.body)));
 * ```
 */
export function idempotency<TRequest extends ExpressRequestLike = ExpressRequestLike>(
  options: ExpressIdempotencyOptions<TRequest>,
): ExpressMiddleware<TRequest> {
  const http = new HttpIdempotency(options);
  return function idempotencyMiddleware(request, response, next) {
    if (!http.applies(request.method ?? "GET")) {
      next();
      return;
    }
    http
      .begin(view(request), request)
      .then(async (decision) => {
        // Something else answered while the store was asked (a request timeout, say).
        if (response.headersSent) {
          if (decision.kind === "run") await decision.exchange.release();
          return;
        }
        switch (decision.kind) {
          case "pass":
            next();
            return;
          case "respond":
            send(response, decision.response);
            return;
          case "run":
            attachClaim(request, decision.exchange);
            completeOnEnd(response, decision.exchange, http.policy.maxResponseBytes);
            next();
        }
      })
      .catch(next);
  };
}
