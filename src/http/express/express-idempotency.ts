import type { IncomingMessage, ServerResponse } from "node:http";
import { headerPairsOf } from "../header-pairs.ts";
import {
  HttpIdempotency,
  type HttpIdempotencyOptions,
  type IdempotentHttpRequest,
} from "../http-idempotency.ts";

/** The part of an Express request the middleware uses. */
export interface ExpressRequestLike extends IncomingMessage {
  body?: unknown;
  originalUrl?: string;
}

/** An Express-style middleware. */
export type ExpressMiddleware = (
  request: ExpressRequestLike,
  response: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/** The body as bytes or text: raw if a parser left it so, serialized again if parsed. */
async function bodyOf(request: ExpressRequestLike, limit: number): Promise<Uint8Array | string> {
  const { body } = request;
  if (body instanceof Uint8Array || typeof body === "string") return body;
  if (body !== undefined && body !== null) return JSON.stringify(body);
  if (request.readableEnded || request.headers["content-length"] === "0") return "";
  if (
    request.headers["content-length"] === undefined &&
    request.headers["transfer-encoding"] === undefined
  ) {
    return "";
  }
  // No body parser ran: read the raw body and leave it on request.body as a Buffer.
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    chunks.push(buffer);
    if (size > limit) break;
  }
  const raw = Buffer.concat(chunks);
  request.body = raw;
  return raw;
}

/**
 * Express 4/5 middleware: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems. Mount it after
 * your body parser (the fingerprint covers the parsed body); without one it reads the raw body
 * into `request.body` as a Buffer.
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
export function idempotency(options: HttpIdempotencyOptions): ExpressMiddleware {
  const http = new HttpIdempotency(options);
  return (request, response, next) => {
    if (!http.applies(request.method ?? "GET")) {
      next();
      return;
    }
    void (async () => {
      const view: IdempotentHttpRequest = {
        method: request.method ?? "GET",
        path: request.originalUrl ?? request.url ?? "/",
        header: (name) => {
          const value = request.headers[name];
          return Array.isArray(value) ? value.join(", ") : value;
        },
        body: await bodyOf(request, http.maxRequestBytes),
      };
      const decision = await http.begin(view);
      if (decision.kind === "pass") {
        next();
        return;
      }
      if (decision.kind === "respond") {
        const { status, headers, body } = decision.response;
        response.statusCode = status;
        for (const [name, value] of headers) response.appendHeader(name, value);
        response.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
        return;
      }
      const { exchange } = decision;
      const chunks: Buffer[] = [];
      let size = 0;
      const capture = (chunk: unknown, encoding?: unknown) => {
        if (chunk === undefined || chunk === null || typeof chunk === "function") return;
        if (size > http.maxResponseBytes) return;
        const buffer =
          typeof chunk === "string"
            ? Buffer.from(
                chunk,
                typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
              )
            : Buffer.from(chunk as Uint8Array);
        size += buffer.byteLength;
        chunks.push(buffer);
      };
      const write = response.write.bind(response) as (...args: unknown[]) => boolean;
      const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
      response.write = ((...args: unknown[]) => {
        capture(args[0], args[1]);
        return write(...args);
      }) as typeof response.write;
      response.end = ((...args: unknown[]) => {
        capture(args[0], args[1]);
        // Store the completion before the response leaves, so an immediate retry replays it.
        const captured =
          size > http.maxResponseBytes
            ? undefined
            : {
                status: response.statusCode,
                headers: headerPairsOf(response.getHeaders()),
                body: Buffer.concat(chunks),
              };
        void exchange.finish(captured).finally(() => end(...args));
        return response;
      }) as typeof response.end;
      response.once("close", () => {
        if (!response.writableFinished) void exchange.abandon();
      });
      next();
    })().catch(next);
  };
}
