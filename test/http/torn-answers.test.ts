// Answers that do not end the usual way: streams torn down by a leaving client or failing
// mid-way, hijacked replies, failures after the first bytes, and something else answering
// first. Each must settle its claim (never stuck in flight for the process's life) and never
// crash the process.
import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import { streamText } from "hono/streaming";
import { afterAll, describe, expect, it } from "vitest";
import { idempotency as expressIdempotency } from "../../src/http/express/index.ts";
import { idempotency as fastifyIdempotency } from "../../src/http/fastify/index.ts";
import { withIdempotency } from "../../src/http/fetch/index.ts";
import { idempotency as honoIdempotency } from "../../src/http/hono/index.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { scopedKey } from "../../src/http/scoped-key.ts";
import { MemoryStore } from "../../src/stores/memory/index.ts";
import { delay } from "../../src/utils/delay.ts";
import { listenRequestListener, serveFetch, type StartedServer } from "../servers/listen.ts";

const leaseTtlMs = 600;
const servers: StartedServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});
const served = async (server: Promise<StartedServer>) => {
  const started = await server;
  servers.push(started);
  return started;
};

const post = (url: string, key: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "idempotency-key": key, ...headers }, body: "{}" });

/** Reads the first bytes of a response, then destroys the connection. */
function readThenLeave(url: string, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: "POST",
      agent: false,
      headers: { "idempotency-key": key },
    });
    request.on("error", () => undefined);
    request.on("response", (response) => {
      response.once("data", () => {
        request.destroy();
        resolve();
      });
    });
    setTimeout(() => {
      reject(new Error("no response bytes"));
    }, 5000).unref();
    request.end("{}");
  });
}

/** Retries until the key is free again (not 409); fails if it stays in flight past the lease. */
async function retryUntilFree(send: () => Promise<Response>): Promise<Response> {
  const deadline = Date.now() + leaseTtlMs * 5;
  for (;;) {
    const response = await send();
    if (response.status !== 409) return response;
    await response.arrayBuffer();
    if (Date.now() > deadline) throw new Error("the key stayed in flight past its lease");
    await delay(50);
  }
}

/** A slow stream: a first chunk at once, the rest over a second. */
const slowStream = () =>
  Readable.from(
    (async function* () {
      yield "first chunk;";
      for (let index = 0; index < 20; index++) {
        await delay(50);
        yield `chunk ${index};`;
      }
    })(),
  );

describe("Express", () => {
  it("abandons a piped stream its client left: the key frees when the lease ends", async () => {
    let runs = 0;
    const app = express();
    app.use(expressIdempotency({ store: new MemoryStore(), scope: "global", leaseTtlMs }));
    app.post("/file", (_request, response) => {
      runs++;
      slowStream().pipe(response);
    });
    const server = await served(listenRequestListener(app));
    await readThenLeave(`${server.url}/file`, "torn");
    const retry = await retryUntilFree(() => post(`${server.url}/file`, "torn"));
    expect(retry.status).toBe(200);
    await retry.text();
    expect(runs).toBe(2);
  });

  it("abandons an answer that failed after its first bytes", async () => {
    let runs = 0;
    const app = express();
    app.use(expressIdempotency({ store: new MemoryStore(), scope: "global", leaseTtlMs }));
    app.post("/partial", (_request, response, next) => {
      runs++;
      response.write("partial");
      setTimeout(() => {
        next(new Error("failed mid-answer"));
      }, 20);
    });
    const server = await served(listenRequestListener(app));
    await post(`${server.url}/partial`, "partial").then(
      (response) => response.text().catch(() => ""),
      () => "",
    );
    await retryUntilFree(() => post(`${server.url}/partial`, "partial"));
    expect(runs).toBe(2);
  });

  it("replays headers given to writeHead", async () => {
    const app = express();
    app.disable("x-powered-by");
    app.use(expressIdempotency({ store: new MemoryStore(), scope: "global" }));
    app.post("/raw", (_request, response) => {
      response.writeHead(201, { "content-type": "text/plain", location: "/orders/1" });
      response.end("created");
    });
    const server = await served(listenRequestListener(app));
    await (await post(`${server.url}/raw`, "wh")).text();
    const replay = await post(`${server.url}/raw`, "wh");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.get("location")).toBe("/orders/1");
    expect(replay.headers.get("content-type")).toBe("text/plain");
    expect(await replay.text()).toBe("created");
  });

  it("does not crash when something else answered while the store was asked", async () => {
    let runs = 0;
    const slowStore = new MemoryStore();
    const slow: IdempotencyStore = {
      tryInsert: async (key, entry, options) => {
        await delay(200);
        return slowStore.tryInsert(key, entry, options);
      },
      complete: (...args) => slowStore.complete(...args),
      touch: (...args) => slowStore.touch(...args),
      remove: (...args) => slowStore.remove(...args),
      get: (key) => slowStore.get(key),
      purge: (key) => slowStore.purge(key),
    };
    const app = express();
    app.use((_request, response, next) => {
      // A request timeout that answers first.
      setTimeout(() => {
        if (!response.headersSent) response.status(503).end("timed out");
      }, 50);
      next();
    });
    app.use(expressIdempotency({ store: slow, scope: "global" }));
    app.post("/orders", (_request, response) => {
      runs++;
      response.status(201).end("created");
    });
    const server = await served(listenRequestListener(app));
    expect((await post(`${server.url}/orders`, "late")).status).toBe(503);
    await delay(300);
    // The claim taken after the timeout answered was released, not run.
    expect(runs).toBe(0);
    const retry = await post(`${server.url}/orders`, "late");
    await delay(300);
    expect([201, 503]).toContain(retry.status);
    expect(await slowStore.get(scopedKey(null, "late"))).toBeUndefined();
  });
});

describe("Fastify", () => {
  it("releases a hijacked reply once it finished: it is served, not cached", async () => {
    let runs = 0;
    const app = Fastify();
    await app.register(fastifyIdempotency, { store: new MemoryStore(), scope: "global" });
    app.post("/hijack", async (_request, reply) => {
      runs++;
      reply.hijack();
      reply.raw.writeHead(201, { "content-type": "text/plain" });
      reply.raw.end(`raw ${runs}`);
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    servers.push({ url, close: () => app.close() });
    expect(await (await post(`${url}/hijack`, "h")).text()).toBe("raw 1");
    const again = await retryUntilFree(() => post(`${url}/hijack`, "h"));
    expect(await again.text()).toBe("raw 2");
  });

  it("releases a stream reply that fails mid-way", async () => {
    let runs = 0;
    const app = Fastify();
    await app.register(fastifyIdempotency, { store: new MemoryStore(), scope: "global" });
    app.post("/broken", async (_request, reply) => {
      runs++;
      const stream = Readable.from(
        (async function* () {
          yield "part;";
          await delay(10);
          throw new Error("source failed");
        })(),
      );
      return reply.type("text/plain").send(stream);
    });
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    servers.push({ url, close: () => app.close() });
    expect((await post(`${url}/broken`, "b")).status).toBe(500);
    await retryUntilFree(() => post(`${url}/broken`, "b"));
    expect(runs).toBe(2);
  });

  it("replays empty answers without a content-type the original lacked", async () => {
    const app = Fastify();
    await app.register(fastifyIdempotency, { store: new MemoryStore(), scope: "global" });
    app.post("/redirect", async (_request, reply) => reply.redirect("/orders/1", 303));
    app.post("/empty", async (_request, reply) => reply.code(204).send());
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    servers.push({ url, close: () => app.close() });
    for (const path of ["/redirect", "/empty"]) {
      const send = () =>
        fetch(`${url}${path}`, {
          method: "POST",
          redirect: "manual",
          headers: { "idempotency-key": path },
        });
      const first = await send();
      const replay = await send();
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.headers.get("content-type")).toBe(first.headers.get("content-type"));
      expect(replay.status).toBe(first.status);
    }
  });
});

describe("Hono and fetch handlers", () => {
  const failingBody = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("part;"));
      },
      pull(controller) {
        controller.error(new Error("source failed"));
      },
    });

  it("release a response whose body stream fails", async () => {
    let honoRuns = 0;
    const app = new Hono();
    app.use(honoIdempotency({ store: new MemoryStore(), scope: "global" }));
    app.post("/broken", () => {
      honoRuns++;
      return new Response(failingBody());
    });
    app.onError(() => new Response("failed", { status: 500 }));
    const hono = await served(serveFetch((request) => app.fetch(request)));
    let fetchRuns = 0;
    const handler = withIdempotency(
      async () => {
        fetchRuns++;
        return new Response(failingBody());
      },
      { store: new MemoryStore(), scope: "global" },
    );
    const plain = await served(
      serveFetch(async (request) =>
        handler(request).catch(() => new Response("failed", { status: 500 })),
      ),
    );
    for (const url of [`${hono.url}/broken`, `${plain.url}/broken`]) {
      expect((await post(url, "s")).status).toBe(500);
      await retryUntilFree(() => post(url, "s"));
    }
    expect(honoRuns).toBe(2);
    expect(fetchRuns).toBe(2);
  });

  it("serve a streamed Hono response as valid HTTP, and replay it", async () => {
    let runs = 0;
    const app = new Hono();
    app.use(honoIdempotency({ store: new MemoryStore(), scope: "global" }));
    app.post("/stream", (c) =>
      streamText(c, async (stream) => {
        runs++;
        await stream.write("hello ");
        await stream.write("stream");
      }),
    );
    const server = await served(serveFetch((request) => app.fetch(request)));
    const first = await post(`${server.url}/stream`, "st");
    expect(await first.text()).toBe("hello stream");
    const replay = await post(`${server.url}/stream`, "st");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe("hello stream");
    expect(runs).toBe(1);
  });
});

describe("onError", () => {
  it("an async reporter that rejects does not crash the process", async () => {
    let reports = 0;
    const broken: IdempotencyStore = {
      tryInsert: async () => {
        throw new StoreError("connection", "tryInsert", "down");
      },
      complete: async () => fail(),
      touch: async () => fail(),
      remove: async () => fail(),
      get: async () => undefined,
      purge: async () => false,
    };
    const handler = withIdempotency(async () => new Response("ok"), {
      store: broken,
      scope: "global",
      // What users write, and what compiles: an async reporter for a void callback.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      onError: async () => {
        reports++;
        throw new Error("the reporter failed too");
      },
    });
    const server = await served(serveFetch((request) => handler(request)));
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", record);
    try {
      expect((await post(`${server.url}/x`, "e")).status).toBe(503);
      await delay(50);
    } finally {
      process.off("unhandledRejection", record);
    }
    expect(reports).toBe(1);
    expect(unhandled).toEqual([]);
  });
});

function fail(): never {
  throw new Error("unexpected call");
}
