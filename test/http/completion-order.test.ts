// A client that got a response can count on its retry being a replay: the completion must be
// stored before the response's last byte leaves. The store here takes its time to store it,
// and the client retries the instant the first response has arrived in full; a completion
// stored after the response was sent shows as a 409 (still in flight) or a second run.
import { afterAll, describe, expect, it } from "vitest";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import type { StartedServer } from "../servers/listen.ts";
import { createRoutes } from "./http-behaviour-suite.ts";
import { adapters } from "./start-servers.ts";

const completeDelayMs = 400;

/** A memory store whose `complete` takes `completeDelayMs` before it stores anything. */
function slowCompletingStore(): IdempotencyStore {
  const memory = new MemoryStore();
  return {
    tryInsert: (key, entry, options) => memory.tryInsert(key, entry, options),
    complete: async (key, entry, token, ttl) => {
      await delay(completeDelayMs);
      return memory.complete(key, entry, token, ttl);
    },
    touch: (key, token, ttl) => memory.touch(key, token, ttl),
    remove: (key, token) => memory.remove(key, token),
    get: (key) => memory.get(key),
    purge: (key) => memory.purge(key),
  };
}

describe.each(Object.entries(adapters))("%s: completion before the response", (_, start) => {
  const servers: StartedServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it.each(["/orders", "/stream"])(
    "a retry sent the instant the response of %s arrived is a replay",
    async (path) => {
      const routes = createRoutes();
      const server = await start(
        { store: slowCompletingStore(), onError: () => undefined },
        routes,
      );
      servers.push(server);
      const key = `order-${Math.random().toString(36).slice(2)}`;
      const send = () =>
        fetch(`${server.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": key, "x-tenant": "a" },
          body: '{"sku":1}',
        });
      const sentAt = Date.now();
      const first = await send();
      const firstBody = await first.text();
      const answeredAfterMs = Date.now() - sentAt;
      const retry = await send();
      expect(first.status).toBe(201);
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await retry.text()).toBe(firstBody);
      expect(routes.runs(path)).toBe(1);
      // The response waited for the completion.
      expect(answeredAfterMs).toBeGreaterThanOrEqual(completeDelayMs - 50);
    },
  );
});
