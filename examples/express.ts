// POST /orders with idempotency on Express. Run: PORT=3000 npx tsx examples/express.ts
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency } from "../src/http/express/index.ts";
import {
  orderService,
  problem,
  problems,
  problemType,
  storeFromEnvironment,
} from "./order-service.ts";

// Every order request needs an API key: it is who the caller is, and so the scope of its keys.
const requireApiKey: RequestHandler = (request, response, next) => {
  if (request.header("x-api-key")) next();
  else response.status(401).type(problemType).json(problems.unauthorized);
};

// Problems instead of Express's HTML error page with a stack trace. Body-parser errors carry
// their status (400 malformed, 413 too large, 415 unsupported encoding); a 500 says nothing more.
const answerErrors: ErrorRequestHandler = (
  error: { status?: number; type?: string; message?: string },
  _request,
  response,
  next,
) => {
  if (response.headersSent) {
    next(error);
    return;
  }
  const status = error.status ?? 500;
  const body =
    error.type === "entity.parse.failed"
      ? problems.malformedJson
      : status < 500
        ? problem(status, error.message ?? "Bad request")
        : problems.internal;
  response.status(body.status).type(problemType).json(body);
};

export function createExpressApp(store: IdempotencyStore): Express {
  const orders = orderService();
  const app = express();
  app.use("/orders", requireApiKey);
  app.use(express.json());
  app.use(idempotency({ store, scope: (request) => request.header("x-api-key") }));
  app.post("/orders", async (request, response) => {
    response.status(201).json(await orders.create(request.body));
  });
  app.get("/stats", (_request, response) => {
    response.json({ orderHandlerRuns: orders.runs() });
  });
  app.use(answerErrors);
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
