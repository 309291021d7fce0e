// Starts each adapter with the suite's neutral routes on a free loopback port. Each server
// puts the caller (the x-tenant header) where that framework's authentication would: Express
// `req.user`, a Fastify route-level preHandler's `request.user`, Hono `c.set("user")`, the
// fetch handler's route context; `scope` reads it from there, asynchronously.
import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import cors from "cors";
import express, { type Request as ExpressRequest } from "express";
import helmet from "helmet";
import Fastify, { type FastifyRequest } from "fastify";
import fastifyCors from "@fastify/cors";
import fastifyHelmet from "@fastify/helmet";
import { Hono, type Context } from "hono";
import { cors as honoCors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { idempotency as expressIdempotency } from "../../src/http/express/index.ts";
import { idempotency as fastifyIdempotency } from "../../src/http/fastify/index.ts";
import { withIdempotency } from "../../src/http/fetch/index.ts";
import { idempotency as honoIdempotency } from "../../src/http/hono/index.ts";
import type { HttpIdempotencyOptions } from "../../src/http/index.ts";
import { idempotencyOf } from "../../src/http/request-claim.ts";
import { listenRequestListener, serveFetch, type StartedServer } from "../servers/listen.ts";
import type { RouteResponse, SuiteRoutes } from "./http-behaviour-suite.ts";
import { startNestExpress, startNestFastify } from "./nest-servers.ts";

/** The suite's options: the adapter builds `scope` from its framework's user, unless global. */
export type SuiteOptions = Omit<HttpIdempotencyOptions, "scope"> & {
  readonly scope?: "global";
  /** Mount the framework's CORS and security-header middleware first. */
  readonly headerMiddleware?: boolean;
  /** Express only: mount the idempotency middleware before the body parser. */
  readonly beforeBodyParser?: boolean;
};

export type StartAdapter = (options: SuiteOptions, routes: SuiteRoutes) => Promise<StartedServer>;

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function asyncUser(user: unknown): Promise<string | undefined> {
  await tick();
  return typeof user === "string" ? user : undefined;
}

function withScope<TArgs extends readonly unknown[]>(
  options: SuiteOptions,
  scope: (...args: TArgs) => Promise<string | undefined>,
): HttpIdempotencyOptions<TArgs> {
  return { ...options, scope: options.scope ?? scope };
}

async function fetchRoute(routes: SuiteRoutes, request: Request, claimed: boolean) {
  const url = new URL(request.url);
  const body = new Uint8Array(await request.arrayBuffer());
  return toResponse(await routes.handle(request.method, url.pathname + url.search, body, claimed));
}

function toResponse(result: RouteResponse): Response {
  const payload = Buffer.from(result.body);
  const body =
    result.stream === true ? (Readable.toWeb(Readable.from([payload])) as ReadableStream) : payload;
  return new Response(body, { status: result.status, headers: result.headers });
}

export const startFetch: StartAdapter = (options, routes) => {
  const handler = withIdempotency(
    // The route context is passed through, typed, as Next.js passes `{ params }`.
    async (request: Request, context: { user: string | undefined }) => {
      if (context.user !== (request.headers.get("x-tenant") ?? undefined)) {
        throw new Error("the route context did not reach the handler");
      }
      return fetchRoute(routes, request, idempotencyOf(request) !== undefined);
    },
    withScope(options, (_request: Request, context: { user: string | undefined }) =>
      asyncUser(context.user),
    ),
  );
  return serveFetch((request) =>
    handler(request, { user: request.headers.get("x-tenant") ?? undefined }),
  );
};

export const startHono: StartAdapter = (options, routes) => {
  const app = new Hono<{ Variables: { user: string | undefined } }>();
  if (options.headerMiddleware === true) app.use(honoCors(), secureHeaders());
  app.use(async (c, next) => {
    c.set("user", c.req.header("x-tenant"));
    await next();
  });
  app.use(
    honoIdempotency(
      withScope(options, (c: Context<{ Variables: { user: string | undefined } }>) =>
        asyncUser(c.get("user")),
      ),
    ),
  );
  app.all("*", async (c) => fetchRoute(routes, c.req.raw, idempotencyOf(c) !== undefined));
  return serveFetch(async (request) => app.fetch(request));
};

function sendExpress(response: ServerResponse, result: RouteResponse): void {
  response.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
  const payload = typeof result.body === "string" ? result.body : Buffer.from(result.body);
  if (result.stream === true) Readable.from([payload]).pipe(response);
  else response.end(payload);
}

export const startExpress: StartAdapter = (options, routes) => {
  const app = express();
  if (options.headerMiddleware === true) app.use(cors(), helmet());
  app.use((request, _response, next) => {
    (request as ExpressRequest & { user?: string | undefined }).user = request.header("x-tenant");
    next();
  });
  const guard = expressIdempotency(
    withScope(options, (request: ExpressRequest & { user?: string | undefined }) =>
      asyncUser(request.user),
    ),
  );
  const parser = express.raw({ type: () => true, limit: "1mb" });
  if (options.beforeBodyParser === true) app.use(guard, parser);
  else app.use(parser, guard);
  app.use((request, response, next) => {
    const body: unknown = request.body;
    routes
      .handle(
        request.method,
        request.originalUrl,
        body instanceof Uint8Array ? body : new Uint8Array(0),
        idempotencyOf(request) !== undefined,
      )
      .then((result) => {
        sendExpress(response, result);
      }, next);
  });
  return listenRequestListener(app);
};

export const startFastify: StartAdapter = async (options, routes) => {
  const app = Fastify();
  if (options.headerMiddleware === true) {
    await app.register(fastifyCors);
    await app.register(fastifyHelmet);
  }
  app.decorateRequest("user", undefined);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
    done(null, body);
  });
  await app.register(
    fastifyIdempotency,
    withScope(options, (request: FastifyRequest) =>
      asyncUser((request as FastifyRequest & { user?: string | undefined }).user),
    ),
  );
  app.route({
    method: ["GET", "POST", "PATCH"],
    url: "/*",
    // Authentication as a route-level hook: it runs after the plugin's hooks, before the claim.
    preHandler: async (request) => {
      (request as FastifyRequest & { user?: string | undefined }).user = request.headers[
        "x-tenant"
      ] as string | undefined;
    },
    handler: async (request, reply) => {
      const body: unknown = request.body;
      const result = await routes.handle(
        request.method,
        request.url,
        body instanceof Uint8Array ? body : new Uint8Array(0),
        idempotencyOf(request) !== undefined,
      );
      void reply.code(result.status).headers(result.headers);
      const payload = typeof result.body === "string" ? result.body : Buffer.from(result.body);
      return reply.send(result.stream === true ? Readable.from([payload]) : payload);
    },
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: address, close: () => app.close() };
};

export const adapters: Readonly<Record<string, StartAdapter>> = {
  express: startExpress,
  fastify: startFastify,
  hono: startHono,
  fetch: startFetch,
  // Nest 11+ needs Express 5: the peer-floor run on Express 4 leaves Nest out (its own floor
  // run covers it).
  ...(process.env["IDEMPOTENT_WITHOUT_NEST"] === "1"
    ? {}
    : { "nest (express)": startNestExpress, "nest (fastify)": startNestFastify }),
};
