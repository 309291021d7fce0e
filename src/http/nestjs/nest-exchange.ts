import type { IncomingMessage, ServerResponse } from "node:http";
import type { CachedResponseParts } from "../../core/cached-response.ts";
import { groupHeaders } from "../header-pairs.ts";
import type { HttpRequestView } from "../http-idempotency.ts";
import { readNodeBody } from "../read-node-body.ts";

/** The parts of Express's `res` or Fastify's `reply` a Nest route answers through. */
interface NestResponse {
  /** Fastify only: the Node.js response under the reply. */
  readonly raw?: ServerResponse;
  header?(name: string, value: string | readonly string[]): unknown;
  code?(status: number): unknown;
  send?(body?: unknown): unknown;
}

/** A Nest request on either platform, and its Node.js request and response. */
export interface NestExchange {
  readonly view: HttpRequestView;
  /** The Node.js response: Express's `res` itself, or Fastify's `reply.raw`. */
  readonly raw: ServerResponse;
  setHeader(name: string, value: string): void;
  /** Answers with `response` and drops the answer Nest would send after the interceptor. */
  replay(response: CachedResponseParts): void;
}

function isFastify(response: NestResponse): response is NestResponse & { raw: ServerResponse } {
  return response.raw !== undefined;
}

/** A body a parser already read, as bytes or text: as it is, or serialized again. */
function parsedBody(body: unknown): Uint8Array | string {
  if (body instanceof Uint8Array || typeof body === "string") return body;
  return body === undefined || body === null ? "" : JSON.stringify(body);
}

function view(
  request: { body?: unknown; originalUrl?: string; url?: string },
  raw: IncomingMessage,
): HttpRequestView {
  return {
    method: raw.method ?? "GET",
    path: request.originalUrl ?? request.url ?? raw.url ?? "/",
    header: (name) => {
      const value = raw.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
    readBody: async (limit) => {
      // Body parsers (Express's, Fastify's) run before interceptors: fingerprint what they read.
      if (request.body !== undefined || raw.readableEnded) return parsedBody(request.body);
      const { "content-length": length, "transfer-encoding": encoding } = raw.headers;
      if (length === "0" || (length === undefined && encoding === undefined)) return "";
      // No parser took it: read the raw bytes and put them back for the handler.
      return (await readNodeBody(raw, limit))?.bytes;
    },
  };
}

/**
 * After our own answer, Nest's reply (status, then send, json or redirect) and the headers an
 * outer interceptor sets on its way out must be no-ops.
 */
function silence(response: object): void {
  const self = () => response;
  for (const name of ["status", "code", "send", "json", "redirect", "render", "set", "header"]) {
    Object.defineProperty(response, name, { value: self, configurable: true });
  }
}

/**
 * The request and response of a Nest route, on `@nestjs/platform-express` or
 * `@nestjs/platform-fastify`.
 */
export function nestExchange(request: object, response: object): NestExchange {
  const reply = response as NestResponse;
  const incoming = request as { raw?: IncomingMessage; body?: unknown; url?: string };
  if (isFastify(reply)) {
    const raw = incoming.raw ?? (request as IncomingMessage);
    return {
      view: view(incoming, raw),
      raw: reply.raw,
      setHeader: (name, value) => void reply.header?.(name, value),
      replay: (cached) => {
        reply.code?.(cached.status);
        for (const [name, values] of groupHeaders(cached.headers)) {
          reply.header?.(name, values.length === 1 ? (values[0] as string) : values);
        }
        const { body } = cached;
        // No payload for an empty body, or Fastify would add a content-type the original lacked.
        reply.send?.(
          body.byteLength === 0
            ? undefined
            : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        );
        silence(reply);
      },
    };
  }
  const raw = response as ServerResponse;
  return {
    view: view(incoming, request as IncomingMessage),
    raw,
    setHeader: (name, value) => {
      raw.setHeader(name, value);
    },
    replay: (cached) => {
      raw.statusCode = cached.status;
      // Set, not append: a header a middleware set earlier (CORS, say) is not repeated.
      for (const [name, values] of groupHeaders(cached.headers)) {
        raw.setHeader(name, values.length === 1 ? (values[0] as string) : values);
      }
      const { body } = cached;
      raw.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      silence(raw);
    },
  };
}
