// Compiled by `npm test` (tsc): each adapter hands `scope` its framework's own objects, typed,
// and the fetch wrapper keeps the handler's extra arguments. Every @ts-expect-error must stay
// an error.
import express, { type Request as ExpressRequest } from "express";
import Fastify, { type FastifyRequest } from "fastify";
import { Hono, type Context } from "hono";
import { expectTypeOf } from "vitest";
import { idempotency as expressIdempotency } from "../../src/http/express/index.ts";
import { idempotency as fastifyIdempotency } from "../../src/http/fastify/index.ts";
import { withIdempotency } from "../../src/http/fetch/index.ts";
import { idempotency as honoIdempotency } from "../../src/http/hono/index.ts";
import { MemoryStore } from "../../src/stores/memory/index.ts";

const store = new MemoryStore();

// Next.js: `(request, { params })` keeps its route context, through to `scope`.
type RouteContext = { params: Promise<{ id: string }> };
const post = withIdempotency(
  async (request: Request, { params }: RouteContext) =>
    Response.json({ id: (await params).id, body: await request.text() }),
  {
    store,
    scope: async (request, context) => {
      expectTypeOf(request).toEqualTypeOf<Request>();
      expectTypeOf(context).toEqualTypeOf<RouteContext>();
      return request.headers.get("x-api-key") ?? undefined;
    },
  },
);
expectTypeOf(post).toEqualTypeOf<(request: Request, context: RouteContext) => Promise<Response>>();
// @ts-expect-error the route context is required, as the handler requires it
void post(new Request("http://localhost/"));
// A plain handler stays a one-argument function.
const plain = withIdempotency(async () => new Response("ok"), { store, scope: "global" });
expectTypeOf(plain).toEqualTypeOf<(request: Request) => Promise<Response>>();

// Express: `scope` gets `req`, with what authentication put on it when typed so.
const app = express();
app.use(expressIdempotency({ store, scope: (request) => request.header("x-api-key") }));
app.use(
  expressIdempotency({
    store,
    scope: (request: ExpressRequest & { user?: { id: string } }) => request.user?.id,
  }),
);
// @ts-expect-error scope returns the caller as a string, not a number
expressIdempotency({ store, scope: () => 42 });

// Fastify: `scope` gets Fastify's request.
const fastify = Fastify();
void fastify.register(fastifyIdempotency, {
  store,
  scope: (request) => {
    expectTypeOf(request).toEqualTypeOf<FastifyRequest>();
    return request.headers["x-api-key"] as string | undefined;
  },
});

// Hono: `scope` gets the Context, with the app's variables.
const hono = new Hono<{ Variables: { user: { id: string } } }>();
hono.use(
  honoIdempotency({
    store,
    scope: (c: Context<{ Variables: { user: { id: string } } }>) => c.get("user").id,
  }),
);
