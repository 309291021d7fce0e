// POST /orders with idempotency on Fastify. Run: PORT=3000 npx tsx examples/fastify.ts
import { pathToFileURL } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency } from "../src/http/fastify/index.ts";
import {
  orderService,
  problem,
  problems,
  problemType,
  storeFromEnvironment,
} from "./order-service.ts";

const apiKeyOf = (headers: Record<string, string | string[] | undefined>) => {
  const value = headers["x-api-key"];
  return typeof value === "string" && value !== "" ? value : undefined;
};

export async function createFastifyApp(store: IdempotencyStore): Promise<FastifyInstance> {
  const orders = orderService();
  const app = Fastify();
  // Every order request needs an API key: it is who the caller is, and so the scope of its keys.
  app.addHook("onRequest", async (request, reply) => {
    // The route as matched, not the raw URL: /%6frders is /orders too.
    if (request.routeOptions.url === "/orders" && apiKeyOf(request.headers) === undefined) {
      await reply.code(401).type(problemType).send(problems.unauthorized);
    }
  });
  // Problems instead of Fastify's own error shape; no internals for a 500.
  app.setErrorHandler(async (error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    const body =
      status === 400
        ? problems.malformedJson
        : status < 500
          ? problem(status, error.message)
          : problems.internal;
    return reply.code(body.status).type(problemType).send(body);
  });
  await app.register(idempotency, { store, scope: (request) => apiKeyOf(request.headers) });
  app.post("/orders", async (request, reply) =>
    reply.code(201).send(await orders.create(request.body)),
  );
  app.get("/stats", async () => ({ orderHandlerRuns: orders.runs() }));
  return app;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const app = await createFastifyApp(await storeFromEnvironment());
  console.log(
    `fastify example on ${await app.listen({ port: Number(process.env["PORT"] ?? 3000) })}`,
  );
}
