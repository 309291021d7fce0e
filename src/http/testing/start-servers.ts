// Starts each adapter with the suite's neutral routes on a free loopback port.
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { idempotency as expressIdempotency } from "../express/express-idempotency.ts";
import { idempotency as fastifyIdempotency } from "../fastify/fastify-idempotency.ts";
import { withIdempotency } from "../fetch/with-idempotency.ts";
import { idempotency as honoIdempotency } from "../hono/hono-idempotency.ts";
import type { HttpIdempotencyOptions } from "../http-idempotency.ts";
import {
  listenRequestListener,
  serveFetch,
  type StartedServer,
} from "../../../test/servers/listen.ts";
import type { SuiteRoutes } from "./http-behaviour-suite.ts";

async function fetchRoute(
  routes: SuiteRoutes,
  request: Request,
  body: ArrayBuffer,
): Promise<Response> {
  const url = new URL(request.url);
  const result = await routes.handle(
    request.method,
    url.pathname + url.search,
    new Uint8Array(body),
  );
  const payload = typeof result.body === "string" ? result.body : Buffer.from(result.body);
  return new Response(payload, { status: result.status, headers: result.headers });
}

export function startFetch(
  options: HttpIdempotencyOptions,
  routes: SuiteRoutes,
): Promise<StartedServer> {
  return serveFetch(
    withIdempotency(
      async (request) => fetchRoute(routes, request, await request.arrayBuffer()),
      options,
    ),
  );
}

export function startHono(
  options: HttpIdempotencyOptions,
  routes: SuiteRoutes,
): Promise<StartedServer> {
  const app = new Hono();
  app.use(honoIdempotency(options));
  // The middleware read the body through c.req, which keeps it for the route.
  app.all("*", async (c) => fetchRoute(routes, c.req.raw, await c.req.arrayBuffer()));
  return serveFetch(async (request) => app.fetch(request));
}

export function startExpress(
  options: HttpIdempotencyOptions,
  routes: SuiteRoutes,
): Promise<StartedServer> {
  const app = express();
  app.use(express.raw({ type: () => true, limit: "1mb" }));
  app.use(expressIdempotency(options));
  app.use(async (request, response) => {
    const body: unknown = request.body;
    const result = await routes.handle(
      request.method,
      request.originalUrl,
      body instanceof Uint8Array ? body : new Uint8Array(0),
    );
    response.status(result.status);
    for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
    response.end(typeof result.body === "string" ? result.body : Buffer.from(result.body));
  });
  return listenRequestListener(app);
}

export async function startFastify(
  options: HttpIdempotencyOptions,
  routes: SuiteRoutes,
): Promise<StartedServer> {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    done(null, body);
  });
  await app.register(fastifyIdempotency, options);
  app.route({
    method: ["GET", "POST", "PATCH"],
    url: "/*",
    handler: async (request, reply) => {
      const body: unknown = request.body;
      const result = await routes.handle(
        request.method,
        request.url,
        body instanceof Uint8Array ? body : new Uint8Array(0),
      );
      void reply.code(result.status).headers(result.headers);
      return reply.send(typeof result.body === "string" ? result.body : Buffer.from(result.body));
    },
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: address, close: () => app.close() };
}
