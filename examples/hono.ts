// POST /orders with idempotency on Hono (served by @hono/node-server).
// Run: PORT=3000 npx tsx examples/hono.ts
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency } from "../src/http/hono/index.ts";
import { orderService, problems, problemType, storeFromEnvironment } from "./order-service.ts";

const answer = (body: { status: number }) =>
  new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": problemType },
  });

export function createHonoApp(store: IdempotencyStore): Hono {
  const orders = orderService();
  const app = new Hono();
  // Every order request needs an API key: it is who the caller is, and so the scope of its keys.
  app.use("/orders", async (c, next) => {
    if (c.req.header("x-api-key")) return next();
    return answer(problems.unauthorized);
  });
  app.use("/orders", idempotency({ store, scope: (c) => c.req.header("x-api-key") }));
  app.post("/orders", async (c) => c.json(await orders.create(await c.req.json()), 201));
  app.get("/stats", (c) => c.json({ orderHandlerRuns: orders.runs() }));
  // Problems instead of a bare 500; c.req.json() throws a SyntaxError on a malformed body.
  app.onError((error) =>
    answer(error instanceof SyntaxError ? problems.malformedJson : problems.internal),
  );
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const app = createHonoApp(await storeFromEnvironment());
  serve({ fetch: app.fetch, port: Number(process.env["PORT"] ?? 3000) }, (info) => {
    console.log(`hono example on http://127.0.0.1:${info.port}`);
  });
}
