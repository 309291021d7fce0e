import type { IncomingMessage, ServerResponse } from "node:http";
import type { CachedResponse } from "../../core/cached-response.ts";
import { groupHeaders, headerPairsOf } from "../header-pairs.ts";
import type { HttpExchange } from "../http-exchange.ts";
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

/** Headers given to `writeHead`, which `getHeaders()` does not show, set the usual way. */
function setWriteHeadHeaders(response: ServerResponse, headers: unknown): void {
  if (Array.isArray(headers)) {
    // A raw list: name, value, name, value...
    for (let index = 0; index + 1 < headers.length; index += 2) {
      response.appendHeader(String(headers[index]), String(headers[index + 1]));
    }
  } else if (typeof headers === "object" && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) response.setHeader(name, value as string | string[]);
    }
  }
}

/**
 * Captures what the handler writes, and stores the completion before the response's last
 * byte leaves, so a client that got the response can count on its retry being a replay.
 * The handler's outcome settles the claim, even when its client is gone; an answer torn down
 * mid-way (a piped stream whose client left, a failure after the first bytes) abandons it.
 */
function completeOnEnd(response: ServerResponse, exchange: HttpExchange, limit: number): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  const capture = (chunk: unknown, encoding: unknown) => {
    if (chunk === undefined || chunk === null || typeof chunk === "function") return;
    if (size > limit) return;
    const buffer =
      typeof chunk === "string"
        ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
        : Buffer.from(chunk as Uint8Array);
    size += buffer.byteLength;
    chunks.push(buffer);
  };
  const writeHead = response.writeHead.bind(response) as (...args: unknown[]) => ServerResponse;
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  response.writeHead = (status: number, ...rest: unknown[]) => {
    const headers = rest.length > 0 && typeof rest[0] !== "string" ? rest[0] : rest[1];
    setWriteHeadHeaders(response, headers);
    return typeof rest[0] === "string" ? writeHead(status, rest[0]) : writeHead(status);
  };
  response.write = ((...args: unknown[]) => {
    capture(args[0], args[1]);
    return write(...args);
  }) as typeof response.write;
  response.end = ((...args: unknown[]) => {
    ended = true;
    capture(args[0], args[1]);
    const captured =
      size > limit
        ? undefined
        : {
            status: response.statusCode,
            headers: headerPairsOf(response.getHeaders()),
            body: Buffer.concat(chunks, size),
          };
    void exchange.complete(captured).finally(() => end(...args));
    return response;
  }) as typeof response.end;
  response.once("close", () => {
    // Closed before the handler ended its answer. Not started: the handler is still at work
    // and its response will be stored. Started: the answer was torn down and will not end.
    if (!ended && response.headersSent) exchange.abandon();
  });
}

/**
 * Express 4/5 middleware: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems. Mount it before
 * or after your body parser: mounted after, it fingerprints the parsed body; mounted before,
 * the raw bytes, and it leaves them for the parser. The route's claim, with an `AbortSignal`
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
 * app.use(express.json());
 * app.use(idempotency({ store, scope: (request) => request.header("x-api-key") }));
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
