// POST /orders with idempotency on Fastify. Run: PORT=3000 npx tsx examples/fastify.ts
import { pathToFileURL } from "node:url";
import Fastify, { type FastifyInstance } from "fastify";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency } from "../src/http/fastify/index.ts";
import { callerOf, orderService, storeFromEnvironment } from "./order-service.ts";

export async function createFastifyApp(store: IdempotencyStore): Promise<FastifyInstance> {
  const orders = orderService();
  const app = Fastify();
  await app.register(idempotency, {
    store,
    scope: (request) => callerOf((name) => request.header(name)),
  });
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
