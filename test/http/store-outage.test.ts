// A guarded request while the Redis server is down: a 503 problem with Retry-After within the
// store's deadline, the handler never runs, and once the server is back the retry runs it once.
// Through every adapter, with a client as the README recommends and with a bare one.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { delay } from "../../src/utils/delay.ts";
import { createRoutes, expectProblem } from "./http-behaviour-suite.ts";
import { adapters } from "./start-servers.ts";

const operationTimeoutMs = 1000;

const clients = {
  "ioredis as the README recommends": (url: string) =>
    new Redis(url, {
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
    }),
  "ioredis with no options": (url: string) => new Redis(url),
};

let server: ServerProcess;
beforeAll(async () => {
  server = await startServer({ binary: "redis-server" });
});
afterAll(async () => {
  await server.stop();
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await delay(20);
  }
}

describe.each(Object.keys(adapters))("%s with the store's server down", (name) => {
  it.each(Object.keys(clients))(
    "answers 503 in time and runs once after restart (%s)",
    async (clientName) => {
      const client = clients[clientName as keyof typeof clients](server.url);
      client.on("error", () => undefined);
      await until(() => client.status === "ready", 5000);
      const store = new ValkeyStore({ client, prefix: `outage-${name}`, operationTimeoutMs });
      const routes = createRoutes();
      const start = adapters[name];
      if (start === undefined) throw new Error(name);
      const http = await start({ store, leaseTtlMs: 2000, onError: () => undefined }, routes);
      const send = (key: string) =>
        fetch(`${http.url}/orders`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": key,
            "x-tenant": "acme",
          },
          body: '{"sku":1}',
        });
      try {
        expect((await send("before")).status).toBe(201);
        const pid = server.pid();
        await server.kill();
        expect(() => process.kill(pid, 0)).toThrow(); // the fault happened: the server is gone

        const key = `during-${clientName.replace(/\W+/g, "-")}`;
        const sentAt = Date.now();
        const response = await send(key);
        const elapsedMs = Date.now() - sentAt;
        await expectProblem(response, 503, "store-unavailable");
        expect(response.headers.get("retry-after")).toBe("1");
        expect(elapsedMs).toBeLessThan(operationTimeoutMs + 1000);
        expect(routes.runs("/orders")).toBe(1);

        await server.restart();
        // Retry as a client would: a 503 while reconnecting, a 409 while a claim the bare client
        // queued during the outage holds the key (its lease is 2 s), then the handler runs.
        const statuses: number[] = [];
        let retry = await send(key);
        while (retry.status === 503 || retry.status === 409) {
          statuses.push(retry.status);
          await retry.arrayBuffer();
          expect(statuses.length).toBeLessThan(200);
          await delay(50);
          retry = await send(key);
        }
        expect(retry.status).toBe(201);
        expect(retry.headers.get("idempotent-replayed")).toBeNull();
        const replay = await send(key);
        expect(replay.headers.get("idempotent-replayed")).toBe("true");
        expect(routes.runs("/orders")).toBe(2);
      } finally {
        await http.close();
        client.disconnect();
      }
    },
  );
});
