// POST /orders with idempotency on Hono (served by @hono/node-server).
// Run: PORT=3000 npx tsx examples/hono.ts
import { pathToFileURL } from "node:url";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency } from "../src/http/hono/index.ts";
import { callerOf, orderService, storeFromEnvironment } from "./order-service.ts";

export function createHonoApp(store: IdempotencyStore): Hono {
  const orders = orderService();
  const app = new Hono();
  app.use(
    "/orders",
    idempotency({ store, scope: (request) => callerOf((name) => request.header(name)) }),
  );
  app.post("/orders", async (c) => c.json(await orders.create(await c.req.json()), 201));
  app.get("/stats", (c) => c.json({ orderHandlerRuns: orders.runs() }));
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const app = createHonoApp(await storeFromEnvironment());
  serve({ fetch: app.fetch, port: Number(process.env["PORT"] ?? 3000) }, (info) => {
    console.log(`hono example on http://127.0.0.1:${info.port}`);
  });
}
