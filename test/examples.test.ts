import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdempotencyStore } from "../src/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { createExpressApp } from "../examples/express.ts";
import { createFastifyApp } from "../examples/fastify.ts";
import { createHonoApp } from "../examples/hono.ts";
import { listenRequestListener, serveFetch, type StartedServer } from "./servers/listen.ts";
import { valkeyStoreFixture } from "./servers/valkey-store-fixture.ts";

const examples: Record<string, (store: IdempotencyStore) => Promise<StartedServer>> = {
  express: (store) => listenRequestListener(createExpressApp(store)),
  fastify: async (store) => {
    const app = await createFastifyApp(store);
    return { url: await app.listen({ port: 0, host: "127.0.0.1" }), close: () => app.close() };
  },
  hono: (store) => serveFetch(createHonoApp(store).fetch),
};

const valkey = valkeyStoreFixture("examples");
beforeAll(valkey.setup);
afterAll(valkey.teardown);

describe.each(Object.keys(examples))("examples/%s.ts", (name) => {
  it.each(["memory", "valkey"])(
    "serves POST /orders once per key and GET /stats (%s store)",
    async (storeName) => {
      const store = storeName === "memory" ? new MemoryStore() : valkey.createStore();
      const started = await (examples[name] as (store: IdempotencyStore) => Promise<StartedServer>)(
        store,
      );
      try {
        const order = () =>
          fetch(`${started.url}/orders`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              "idempotency-key": `k-${name}-${storeName}`,
              "x-api-key": "client-1",
            },
            body: '{"sku":42}',
          });
        const first = await order();
        expect(first.status).toBe(201);
        const firstBody = await first.text();
        const retry = await order();
        expect(retry.headers.get("idempotent-replayed")).toBe("true");
        expect(await retry.text()).toBe(firstBody);
        const stats = (await (await fetch(`${started.url}/stats`)).json()) as {
          orderHandlerRuns: number;
        };
        expect(stats.orderHandlerRuns).toBe(1);

        // Safe to copy: no API key is a 401 problem, malformed JSON a 400 problem, no stack trace.
        const anonymous = await fetch(`${started.url}/orders`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": "k-anonymous" },
          body: '{"sku":42}',
        });
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers.get("content-type")).toContain("application/problem+json");
        const malformed = await fetch(`${started.url}/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": "k-malformed",
            "x-api-key": "client-1",
          },
          body: '{"sku":',
        });
        expect(malformed.status).toBe(400);
        expect(malformed.headers.get("content-type")).toContain("application/problem+json");
        const text = await malformed.text();
        expect(text).not.toMatch(/at .*\.(ts|js)|node_modules|<html/i);
        expect(JSON.parse(text)).toMatchObject({ status: 400 });

        // The check holds for the route as matched (/%6frders is /orders) and for an empty key.
        for (const [path, apiKey] of [
          ["/%6frders", undefined],
          ["/orders", ""],
        ] as const) {
          const refused = await fetch(`${started.url}${path}`, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              ...(apiKey === undefined ? {} : { "x-api-key": apiKey }),
            },
            body: '{"sku":42}',
          });
          // A router that does not decode the path answers 404; the order never runs either way.
          expect(apiKey === undefined ? [401, 404] : [401]).toContain(refused.status);
        }
        expect(
          ((await (await fetch(`${started.url}/stats`)).json()) as { orderHandlerRuns: number })
            .orderHandlerRuns,
        ).toBe(1);
      } finally {
        await started.close();
      }
    },
  );
});

describe("examples/queue-consumer.ts", () => {
  it("charges each order once over at-least-once deliveries", () => {
    const output = execFileSync(
      process.execPath,
      ["--import", "tsx", "examples/queue-consumer.ts"],
      {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        encoding: "utf8",
      },
    );
    expect(output).toContain("Charges made: 2 for 5 deliveries of 2 orders.");
    expect(output).toContain("fingerprint-mismatch");
  });
});
