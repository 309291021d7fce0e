// HTTP edges that need more than the shared suite's neutral routes: huge bodies, mount order,
// route context types.
import { request as httpRequest } from "node:http";
import express from "express";
import { afterAll, describe, expect, it } from "vitest";
import { idempotency as expressIdempotency } from "../../src/http/express/index.ts";
import { withIdempotency } from "../../src/http/fetch/index.ts";
import { MemoryStore } from "../../src/stores/memory/index.ts";
import { listenRequestListener, serveFetch, type StartedServer } from "../servers/listen.ts";
import { createRoutes, expectProblem } from "./http-behaviour-suite.ts";
import { adapters } from "./start-servers.ts";

const mib = 1024 * 1024;
const servers: StartedServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

/** Streams `bytes` of chunked body with a key; resolves with the status and the peak RSS growth. */
function sendHugeBody(url: string, bytes: number) {
  return new Promise<{ status: number; peakGrowth: number }>((resolve, reject) => {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 2);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const request = httpRequest(`${url}/orders`, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/octet-stream",
        "idempotency-key": `huge-${Math.random()}`,
        "x-tenant": "acme",
        "transfer-encoding": "chunked",
      },
    });
    const finish = (status: number) => {
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      resolve({ status, peakGrowth: peak - baseline });
    };
    request.on("response", (response) => {
      response.resume();
      response.on("end", () => {
        finish(response.statusCode ?? 0);
      });
    });
    request.on("error", reject);
    const pump = () => {
      while (sent < bytes) {
        sent += chunk.byteLength;
        if (!request.write(chunk)) {
          request.once("drain", pump);
          return;
        }
      }
      request.end();
    };
    pump();
  });
}

// Not Nest: its body parser reads the body before any interceptor runs, so the parser's limit
// (`useBodyParser`'s, Fastify's `bodyLimit`) bounds it, not the layer.
const readingBodies = Object.keys(adapters).filter((name) => !name.startsWith("nest "));
describe.each(readingBodies)("%s", (name) => {
  it("refuses a 50 MiB chunked body with 413, holding a few MiB at most", async () => {
    const routes = createRoutes();
    const start = adapters[name];
    if (start === undefined) throw new Error(name);
    // Express: the idempotency middleware first, so its own reading is what is measured.
    const options = { store: new MemoryStore(), onError: () => undefined, beforeBodyParser: true };
    const server = await start(options, routes);
    servers.push(server);
    await sendHugeBody(server.url, 64 * 1024); // warm-up: code loaded, buffers allocated
    const result = await sendHugeBody(server.url, 50 * mib);
    expect(result.status).toBe(413);
    expect(routes.runs("/orders")).toBe(1);
    // Buffering the body would take 50 MiB and more; reading stops after maxRequestBytes.
    expect(result.peakGrowth).toBeLessThan(16 * mib);
  });
});

describe.each(Object.keys(adapters))("%s on a full memory store", (name) => {
  it("answers 503 with Retry-After and keeps every retained response", async () => {
    const routes = createRoutes();
    const start = adapters[name];
    if (start === undefined) throw new Error(name);
    const store = new MemoryStore({ maxEntries: 2 });
    const server = await start({ store, onError: () => undefined }, routes);
    servers.push(server);
    const send = (key: string) =>
      fetch(`${server.url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key, "x-tenant": "a" },
        body: "{}",
      });
    const first = await (await send("one")).text();
    const second = await (await send("two")).text();
    const full = await send("three");
    await expectProblem(full, 503, "store-unavailable");
    expect(full.headers.get("retry-after")).toBe("1");
    expect(await (await send("one")).text()).toBe(first);
    expect(await (await send("two")).text()).toBe(second);
    expect(routes.runs("/orders")).toBe(2);
  });
});

describe("fetch handlers", () => {
  it("leave the body of a request they do not guard unread, for the handler", async () => {
    const seen: boolean[] = [];
    const handler = withIdempotency(
      async (request: Request) => {
        seen.push(request.bodyUsed);
        return new Response(await request.text());
      },
      { store: new MemoryStore(), scope: "global" },
    );
    const server = await serveFetch((request) => handler(request));
    servers.push(server);
    const response = await fetch(`${server.url}/x`, { method: "POST", body: "plain" });
    expect(await response.text()).toBe("plain");
    expect(seen).toEqual([false]);
  });
});

describe("Express mount order", () => {
  const start = async (order: "before" | "after") => {
    let runs = 0;
    const received: unknown[] = [];
    const app = express();
    const guard = expressIdempotency({ store: new MemoryStore(), scope: "global" });
    if (order === "before") app.use(guard, express.json());
    else app.use(express.json(), guard);
    app.post("/orders", (request, response) => {
      runs++;
      received.push(request.body);
      response.status(201).json({ run: runs, body: request.body as unknown });
    });
    const server = await listenRequestListener(app);
    servers.push(server);
    const send = (key: string, body: string) =>
      fetch(`${server.url}/orders`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": key },
        body,
      });
    return { send, received, runs: () => runs };
  };

  it.each(["before", "after"] as const)(
    "mounted %s the body parser, the handler gets the parsed JSON and retries replay",
    async (order) => {
      const { send, received, runs } = await start(order);
      const first = await send("k1", '{"sku":1}');
      expect(first.status).toBe(201);
      expect(await first.json()).toEqual({ run: 1, body: { sku: 1 } });
      const retry = await send("k1", '{"sku":1}');
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect((await send("k1", '{"sku":2}')).status).toBe(422);
      expect((await send("k2", '{"sku":3}')).status).toBe(201);
      expect(received).toEqual([{ sku: 1 }, { sku: 3 }]);
      expect(runs()).toBe(2);
    },
  );
});
