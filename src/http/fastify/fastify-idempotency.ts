import { PassThrough, Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { CachedResponseParts, HeaderPairs } from "../../core/cached-response.ts";
import { groupHeaders, headerPairsOf } from "../header-pairs.ts";
import type { HttpExchange } from "../http-exchange.ts";
import { HttpIdempotency, type HttpRequestView } from "../http-idempotency.ts";
import type { HttpIdempotencyOptions } from "../http-options.ts";
import { problemResponse } from "../problem.ts";
import { readNodeBodyThen } from "../read-node-body.ts";
import { captureNodeStream } from "../read-node-stream.ts";
import { attachClaim } from "../request-claim.ts";

/**
 * Options of the Fastify plugin; `scope` gets Fastify's own `request` (with `request.user`
 * and whatever your authentication put there).
 *
 * @example
 * ```ts
 * const options: FastifyIdempotencyOptions = { store, scope: (request) => request.user?.id };
 * ```
 */
export type FastifyIdempotencyOptions = HttpIdempotencyOptions<[request: FastifyRequest]>;

/** The raw body of a guarded request, read before parsing. */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();
const exchanges = new WeakMap<FastifyRequest, HttpExchange>();

/** A Fastify request as the HTTP layer sees it; one object, its methods on the prototype. */
class FastifyRequestView implements HttpRequestView {
  readonly #request: FastifyRequest;

  constructor(request: FastifyRequest) {
    this.#request = request;
  }

  get method(): string {
    return this.#request.method;
  }

  get path(): string {
    return this.#request.url;
  }

  header(name: string): string | undefined {
    const value = this.#request.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }

  // Read in preParsing already, or parsed by the framework: no promise needed.
  readBody(): Uint8Array | string {
    const request = this.#request;
    const raw = rawBodies.get(request);
    if (raw !== undefined) return raw;
    const { body } = request;
    if (body instanceof Uint8Array || typeof body === "string") return body;
    return body === undefined || body === null ? "" : JSON.stringify(body);
  }
}

function send(reply: FastifyReply, response: CachedResponseParts): FastifyReply {
  void reply.code(response.status);
  const { headers, body } = response;
  // Set, not append: a header a hook set earlier (CORS, say) is not repeated. Pairs of one name
  // are set together; most responses repeat no name, so the grouping is only done when needed.
  let typed = false;
  let repeated = false;
  for (let index = 0; index < headers.length; index++) {
    const name = (headers[index] as HeaderPairs[number])[0].toLowerCase();
    if (name === "content-type") typed = true;
    for (let before = 0; before < index && !repeated; before++) {
      repeated = (headers[before] as HeaderPairs[number])[0].toLowerCase() === name;
    }
  }
  if (repeated) {
    for (const [name, values] of groupHeaders(headers)) {
      void reply.header(name, values.length === 1 ? values[0] : values);
    }
  } else {
    for (const [name, value] of headers) void reply.header(name, value);
  }
  // No payload for an empty body, or Fastify would add a content-type the original lacked.
  if (body.byteLength === 0) return reply.send();
  // Fastify gives a Buffer without one `application/octet-stream`; the onSend hook takes it off.
  if (!typed) untyped.add(reply);
  return reply.send(
    Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
  );
}

/** Replies replaying a response that had no content type. */
const untyped = new WeakSet<FastifyReply>();

/**
 * Settles a claim whose reply never passed through `onSend` (a hijacked reply): finished, it
 * was served but cannot be cached, so released; torn down after it started, abandoned.
 */
function settleUnsent(reply: FastifyReply, exchange: HttpExchange): void {
  reply.raw.once("close", () => {
    if (exchange.settled) return;
    if (reply.raw.writableFinished) void exchange.release();
    else if (reply.raw.headersSent) exchange.abandon();
  });
}

/** A stream of bytes already read, for the body parser; its length counted as received. */
function replayOf(bytes: Buffer): Readable {
  const replay = new Readable({ read: () => undefined }) as Readable & {
    receivedEncodedLength?: number;
  };
  replay.push(bytes);
  replay.push(null);
  replay.receivedEncodedLength = bytes.byteLength;
  return replay;
}

/** The reply about to be sent, with `body`, as the exchange stores it. */
function captured(reply: FastifyReply, body: Uint8Array): CachedResponseParts {
  return { status: reply.statusCode, headers: headerPairsOf(reply.getHeaders()), body };
}

/** Settles the claim by the reply about to be sent; resolves with the payload to send. */
async function completeOnSend(
  reply: FastifyReply,
  payload: unknown,
  exchange: HttpExchange,
  maxResponseBytes: number,
): Promise<unknown> {
  if (isFetchResponse(payload)) {
    // As Fastify would after this hook: the Response's status and headers go on the reply, its
    // body (a web stream, or none) is what is sent.
    if (payload.bodyUsed) return payload; // Fastify refuses it; nothing was answered to store
    void reply.code(payload.status);
    for (const [name, value] of payload.headers) void reply.header(name, value);
    payload = payload.body ?? undefined;
  }
  if (isWebStream(payload)) payload = Readable.fromWeb(payload as NodeReadableStream<Uint8Array>);
  else if (isPipeable(payload) && !(payload instanceof Readable)) {
    // A stream-like object Fastify would pipe: piped into a stream this hook can read.
    const through = new PassThrough();
    payload.on?.("error", (error: Error) => through.destroy(error));
    payload.pipe(through);
    payload = through;
  }
  if (payload instanceof Readable) {
    let read: Awaited<ReturnType<typeof captureNodeStream>>;
    try {
      read = await captureNodeStream(payload, maxResponseBytes);
    } catch (error) {
      // The stream failed before it was whole: the handler's answer failed.
      await exchange.release();
      throw error;
    }
    if (read.kind === "too-large") {
      await exchange.release();
      return read.stream;
    }
    await exchange.complete(captured(reply, read.body));
    return read.body;
  }
  if (payload === undefined || payload === null) {
    await exchange.complete(captured(reply, new Uint8Array(0)));
    return payload;
  }
  if (typeof payload === "string" || payload instanceof Uint8Array) {
    await exchange.complete(
      captured(reply, typeof payload === "string" ? Buffer.from(payload) : payload),
    );
    return payload;
  }
  // A payload this hook cannot read: its answer is unknown, so nothing is stored and the key
  // stays in flight until its lease ends (no empty answer is cached, no retry runs at once).
  exchange.abandon();
  return payload;
}

function isFetchResponse(payload: unknown): payload is Response {
  return Object.prototype.toString.call(payload) === "[object Response]";
}

function isWebStream(payload: unknown): payload is ReadableStream<Uint8Array> {
  return typeof (payload as { getReader?: unknown } | null | undefined)?.getReader === "function";
}

interface Pipeable {
  pipe(destination: NodeJS.WritableStream): unknown;
  on?(event: "error", listener: (error: Error) => void): unknown;
}

function isPipeable(payload: unknown): payload is Pipeable {
  return typeof (payload as { pipe?: unknown } | null | undefined)?.pipe === "function";
}

const plugin: FastifyPluginAsync<FastifyIdempotencyOptions> = async (fastify, options) => {
  const http = new HttpIdempotency(options);
  const { headerName, maxRequestBytes, maxResponseBytes } = http.policy;

  // Reads the raw body of a guarded request before Fastify parses it, at most maxRequestBytes
  // of it, so an oversized body is refused unread and the fingerprint covers the exact bytes.
  // Callback-style hooks: a request the plugin does not touch passes without a promise.
  fastify.addHook("preParsing", (request, reply, payload, done) => {
    const keyed =
      request.headers[headerName] !== undefined || http.policy.keyFromBody !== undefined;
    if (!http.applies(request.method) || !keyed) {
      done(null, payload);
      return;
    }
    readNodeBodyThen(payload, maxRequestBytes, (read) => {
      if (read === undefined) {
        const problem = problemResponse(
          "request-too-large",
          `the body exceeds ${maxRequestBytes} bytes`,
        );
        // Settled once the problem is sent, so Fastify goes no further with this request.
        Promise.resolve(send(reply, problem)).then(
          () => {
            done(null, payload);
          },
          (error: unknown) => {
            done(error as Error);
          },
        );
        return;
      }
      rawBodies.set(request, read.bytes);
      done(null, read.restored ? payload : replayOf(read.bytes));
    });
  });

  // The claim is taken right before the handler, after every hook (authentication included),
  // so `scope` sees what they put on the request.
  fastify.addHook("onRoute", (route) => {
    const handler = route.handler;
    route.handler = async function guarded(this: unknown, request, reply) {
      if (!http.applies(request.method)) return handler.call(this as never, request, reply);
      const decision = await http.begin(new FastifyRequestView(request), request);
      if (decision.kind === "respond") return send(reply, decision.response);
      if (decision.kind === "run") {
        exchanges.set(request, decision.exchange);
        attachClaim(request, decision.exchange);
        settleUnsent(reply, decision.exchange);
      }
      const result: unknown = await handler.call(this as never, request, reply);
      // A handler that sends through `reply` and returns nothing: Fastify waits for the send.
      return result === undefined ? reply : result;
    };
  });

  fastify.addHook("onSend", (request, reply, payload, done) => {
    const exchange = exchanges.get(request);
    if (exchange === undefined) {
      if (untyped.delete(reply)) reply.removeHeader("content-type");
      done(null, payload);
      return;
    }
    exchanges.delete(request);
    completeOnSend(reply, payload, exchange, maxResponseBytes).then(
      (sent) => {
        done(null, sent);
      },
      (error: unknown) => {
        done(error as Error);
      },
    );
  });
};

// Applies the hooks to the routes of the registering scope, as fastify-plugin would.
Object.assign(plugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "idempotent",
});

/**
 * Fastify 5 plugin: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems. Register it
 * before the routes it guards. The body of a guarded request is read (at most
 * `maxRequestBytes`) before parsing and fingerprinted as raw bytes; streamed responses are
 * buffered up to `maxResponseBytes` and cached like any other. The route's claim, with an
 * `AbortSignal` for long work, is `idempotencyOf(request)`.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { idempotency } from "idempotent/fastify";
 *
 * const app = Fastify();
 * await app.register(idempotency, { store, scope: (request) => request.headers["x-api-key"] as string | undefined });
 * app.post("/orders", async (request, reply) => reply.code(201).send(createOrder(request.body)));
 * ```
 */
export const idempotency: FastifyPluginAsync<FastifyIdempotencyOptions> = plugin;
