import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { headerPairsOf } from "../header-pairs.ts";
import {
  HttpIdempotency,
  type HttpExchange,
  type HttpIdempotencyOptions,
} from "../http-idempotency.ts";

const exchanges = new WeakMap<FastifyRequest, HttpExchange>();

function bodyOf(body: unknown): Uint8Array | string {
  if (body instanceof Uint8Array || typeof body === "string") return body;
  return body === undefined || body === null ? "" : JSON.stringify(body);
}

const plugin: FastifyPluginAsync<HttpIdempotencyOptions> = async (fastify, options) => {
  const http = new HttpIdempotency(options);

  fastify.addHook("preHandler", async (request, reply) => {
    if (!http.applies(request.method)) return;
    const decision = await http.begin({
      method: request.method,
      path: request.url,
      header: (name) => {
        const value = request.headers[name];
        return Array.isArray(value) ? value.join(", ") : value;
      },
      body: bodyOf(request.body),
    });
    if (decision.kind === "pass") return;
    if (decision.kind === "respond") {
      const { status, headers, body } = decision.response;
      reply.code(status);
      for (const [name, value] of headers) void reply.header(name, value);
      await reply.send(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      return;
    }
    exchanges.set(request, decision.exchange);
  });

  fastify.addHook("onSend", async (request, reply, payload) => {
    const exchange = exchanges.get(request);
    if (exchange === undefined) return payload;
    exchanges.delete(request);
    // Streams are served as they are, not cached: the claim is released.
    const body =
      typeof payload === "string"
        ? Buffer.from(payload)
        : payload instanceof Uint8Array
          ? payload
          : payload === null || payload === undefined
            ? new Uint8Array(0)
            : undefined;
    await exchange.finish(
      body === undefined
        ? undefined
        : { status: reply.statusCode, headers: headerPairsOf(reply.getHeaders()), body },
    );
    return payload;
  });

  fastify.addHook("onRequestAbort", async (request) => {
    const exchange = exchanges.get(request);
    exchanges.delete(request);
    await exchange?.abandon();
  });
};

// Applies the hooks to the routes of the registering scope, as fastify-plugin would.
Object.assign(plugin, {
  [Symbol.for("skip-override")]: true,
  [Symbol.for("fastify.display-name")]: "idempotent",
});

/**
 * Fastify 5 plugin: the first request with a key runs the route, retries get the cached
 * response with `Idempotent-Replayed: true`, conflicts get RFC 9457 problems. Register it in
 * the scope of the routes it guards.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { idempotency } from "idempotent/fastify";
 *
 * const app = Fastify();
 * await app.register(idempotency, { store, scope: (request) => request.header("x-api-key") });
 * app.post("/orders", async (request, reply) => reply.code(201).send(createOrder(request.body)));
 * ```
 */
export const idempotency: FastifyPluginAsync<HttpIdempotencyOptions> = plugin;
