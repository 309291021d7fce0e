// POST /orders with idempotency on Express. Run: PORT=3000 npx tsx examples/express.ts
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import express, { type Express } from "express";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency } from "../src/http/express/index.ts";
import { callerOf, orderService, storeFromEnvironment } from "./order-service.ts";

export function createExpressApp(store: IdempotencyStore): Express {
  const orders = orderService();
  const app = express();
  app.use(express.json());
  app.use(idempotency({ store, scope: (request) => callerOf((name) => request.header(name)) }));
  app.post("/orders", async (request, response) => {
    response.status(201).json(await orders.create(request.body));
  });
  app.get("/stats", (_request, response) => {
    response.json({ orderHandlerRuns: orders.runs() });
  });
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const server = createExpressApp(await storeFromEnvironment()).listen(
    Number(process.env["PORT"] ?? 3000),
    () => {
      console.log(`express example on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    },
  );
}
