// Requests per second through each adapter with autocannon: the bare framework, the
// middleware on a fresh key per request, and replays of one key; memory and Valkey/Redis
// stores; express-idempotency on the same workload. Run: npm run bench -- http
import autocannon from "autocannon";
import express from "express";
import {
  getSharedIdempotencyService,
  idempotency as expressIdempotencyPackage,
} from "express-idempotency";
import Fastify from "fastify";
import { Hono } from "hono";
import { Redis } from "ioredis";
import type { IdempotencyStore } from "../src/index.ts";
import { idempotency as expressIdempotency } from "../src/http/express/index.ts";
import { idempotency as fastifyIdempotency } from "../src/http/fastify/index.ts";
import { idempotency as honoIdempotency } from "../src/http/hono/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { ValkeyStore } from "../src/stores/valkey/index.ts";
import { listenRequestListener, serveFetch, type StartedServer } from "../test/servers/listen.ts";
import { startServer } from "../test/servers/redis-server.ts";
import { describeEnvironment, formatCount, median } from "./environment.ts";

const order = { id: 42, status: "created" };

const frameworks: Record<string, (store: IdempotencyStore | undefined) => Promise<StartedServer>> =
  {
    express: (store) => {
      const app = express();
      app.use(express.json());
      if (store !== undefined) app.use(expressIdempotency({ store, scope: "global" }));
      app.post("/orders", (_request, response) => {
        response.status(201).json(order);
      });
      return listenRequestListener(app);
    },
    fastify: async (store) => {
      const app = Fastify();
      if (store !== undefined) await app.register(fastifyIdempotency, { store, scope: "global" });
      app.post("/orders", async (_request, reply) => reply.code(201).send(order));
      return { url: await app.listen({ port: 0, host: "127.0.0.1" }), close: () => app.close() };
    },
    hono: (store) => {
      const app = new Hono();
      if (store !== undefined) app.use(honoIdempotency({ store, scope: "global" }));
      app.post("/orders", (c) => c.json(order, 201));
      return serveFetch(app.fetch);
    },
  };

function expressIdempotencyApp(): Promise<StartedServer> {
  const app = express();
  app.use(express.json());
  app.post("/orders", expressIdempotencyPackage(), (request, response) => {
    if (getSharedIdempotencyService().isHit(request)) return;
    response.status(201).json(order);
  });
  return listenRequestListener(app);
}

async function requestsPerSecond(
  url: string,
  mode: "bare" | "fresh" | "replay",
  seconds: number,
): Promise<number> {
  // A short unmeasured run first, so every measurement sees warmed-up code.
  await measure(url, mode, 1);
  return measure(url, mode, seconds);
}

let counter = 0;

async function measure(
  url: string,
  mode: "bare" | "fresh" | "replay",
  seconds: number,
): Promise<number> {
  if (mode === "replay") {
    // Complete the key first, so every measured request is a replay, not a 409.
    await fetch(`${url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "replayed-key" },
      body: '{"sku":42}',
    });
  }
  const result = await autocannon({
    url: `${url}/orders`,
    connections: 32,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"sku":42}',
        setupRequest: (request) => {
          if (mode === "bare") return request;
          const key = mode === "replay" ? "replayed-key" : `key-${process.pid}-${++counter}`;
          return { ...request, headers: { ...request.headers, "idempotency-key": key } };
        },
      },
    ],
  });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers`);
  return result.requests.average;
}

/** Runs the HTTP benchmark and returns its markdown report. */
export async function runHttpBench(rounds = 3, seconds = 3): Promise<string> {
  const server = await startServer({ binary: "redis-server" });
  const redis = new Redis(server.port, "127.0.0.1");
  const results = new Map<string, number[]>();
  const record = (name: string, value: number) => {
    results.set(name, [...(results.get(name) ?? []), value]);
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [name, start] of Object.entries(frameworks)) {
        const bare = await start(undefined);
        record(`${name}|bare`, await requestsPerSecond(bare.url, "bare", seconds));
        await bare.close();
        const stores: [string, IdempotencyStore][] = [
          ["memory", new MemoryStore()],
          ["valkey", new ValkeyStore({ client: redis, prefix: `bench-http-${round}` })],
        ];
        for (const [storeName, store] of stores) {
          const guarded = await start(store);
          record(
            `${name}|${storeName}|fresh`,
            await requestsPerSecond(guarded.url, "fresh", seconds),
          );
          record(
            `${name}|${storeName}|replay`,
            await requestsPerSecond(guarded.url, "replay", seconds),
          );
          await guarded.close();
        }
      }
      const other = await expressIdempotencyApp();
      record("express-idempotency|fresh", await requestsPerSecond(other.url, "fresh", seconds));
      record("express-idempotency|replay", await requestsPerSecond(other.url, "replay", seconds));
      await other.close();
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
  const value = (name: string) => median(results.get(name) ?? [0]);
  const rows = Object.keys(frameworks).flatMap((name) => {
    const bare = value(`${name}|bare`);
    return ["memory", "valkey"].map((store) => {
      const fresh = value(`${name}|${store}|fresh`);
      const replay = value(`${name}|${store}|replay`);
      return `| ${name} | ${store} | ${formatCount(bare)} | ${formatCount(fresh)} (${(fresh / bare).toFixed(2)}) | ${formatCount(replay)} (${(replay / bare).toFixed(2)}) |`;
    });
  });
  const expressBare = value("express|bare");
  const otherFresh = value("express-idempotency|fresh");
  const otherReplay = value("express-idempotency|replay");
  rows.push(
    `| express + express-idempotency 1.0 | its in-memory adapter (it ships no Redis adapter) | ${formatCount(expressBare)} | ${formatCount(otherFresh)} (${(otherFresh / expressBare).toFixed(2)}) | ${formatCount(otherReplay)} (${(otherReplay / expressBare).toFixed(2)}) |`,
  );
  return [
    "## HTTP adapters",
    "",
    `autocannon, 32 connections, ${seconds} s per measurement after a 1 s warm-up, median of ${rounds} rounds, everything on one 2-core machine (client, server and redis-server share it). \`POST /orders\` answering a small JSON body with 201. "fresh key": a new Idempotency-Key per request (claim, run, complete); "replay": one key, every request after the first is a replay. In parentheses: the ratio to the bare framework in the same round.`,
    "",
    "| framework | store | bare req/s | fresh key req/s | replay req/s |",
    "| --- | --- | ---: | ---: | ---: |",
    ...rows,
    "",
    describeEnvironment([
      "express",
      "fastify",
      "hono",
      "@hono/node-server",
      "autocannon",
      "express-idempotency",
      "ioredis",
    ]),
    "",
  ].join("\n");
}
