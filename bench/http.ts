// Requests per second through each adapter with autocannon: the bare framework (for fetch, a
// bare fetch handler served by @hono/node-server), the middleware on a fresh key per request,
// and replays of one key; memory and Valkey/Redis stores; express-idempotency on the same workload. The load generator runs in a process of its
// own (bench/http-load.ts); the server's CPU time per request is measured in its process.
// Run: npm run bench -- http
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
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
import { withIdempotency } from "../src/http/fetch/index.ts";
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
    // A fetch handler (as in Bun, Deno, Workers) served on Node.js as Hono is.
    fetch: (store) => {
      const handler = () => Response.json(order, { status: 201 });
      return serveFetch(
        store === undefined ? handler : withIdempotency(handler, { store, scope: "global" }),
      );
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

interface Measurement {
  readonly perSecond: number;
  /** Server process CPU time (user + system) per request, in µs. */
  readonly cpuMicros: number;
}

async function requestsPerSecond(
  url: string,
  mode: "bare" | "fresh" | "replay",
  seconds: number,
): Promise<Measurement> {
  // A short unmeasured run first, so every measurement sees warmed-up code.
  await measure(url, mode, 1);
  return measure(url, mode, seconds);
}

const run = promisify(execFile);
const loadGenerator = fileURLToPath(new URL("http-load.ts", import.meta.url));

async function measure(
  url: string,
  mode: "bare" | "fresh" | "replay",
  seconds: number,
): Promise<Measurement> {
  if (mode === "replay") {
    // Complete the key first, so every measured request is a replay, not a 409.
    await fetch(`${url}/orders`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "replayed-key" },
      body: '{"sku":42}',
    });
  }
  const started = process.cpuUsage();
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", loadGenerator, url, mode, String(seconds)],
    { timeout: (seconds + 30) * 1000 },
  );
  const used = process.cpuUsage(started);
  const result = JSON.parse(stdout) as { requests: number; average: number; non2xx: number };
  if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers`);
  return { perSecond: result.average, cpuMicros: (used.user + used.system) / result.requests };
}

/** Runs the HTTP benchmark and returns its markdown report. */
export async function runHttpBench(rounds = 3, seconds = 3): Promise<string> {
  const server = await startServer({ binary: "redis-server" });
  const redis = new Redis(server.port, "127.0.0.1");
  const results = new Map<string, Measurement[]>();
  const record = (name: string, value: Measurement) => {
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
  const value = (name: string) => median((results.get(name) ?? []).map((each) => each.perSecond));
  const cpu = (name: string) =>
    Math.round(median((results.get(name) ?? []).map((each) => each.cpuMicros)));
  const rows = Object.keys(frameworks).flatMap((name) => {
    const bare = value(`${name}|bare`);
    return ["memory", "valkey"].map((store) => {
      const fresh = value(`${name}|${store}|fresh`);
      const replay = value(`${name}|${store}|replay`);
      return `| ${name} | ${store} | ${formatCount(bare)} | ${formatCount(fresh)} (${(fresh / bare).toFixed(2)}) | ${formatCount(replay)} (${(replay / bare).toFixed(2)}) | ${cpu(`${name}|bare`)} / ${cpu(`${name}|${store}|fresh`)} / ${cpu(`${name}|${store}|replay`)} |`;
    });
  });
  const expressBare = value("express|bare");
  const otherFresh = value("express-idempotency|fresh");
  const otherReplay = value("express-idempotency|replay");
  rows.push(
    `| express + express-idempotency 1.0 | its in-memory adapter (it ships no Redis adapter) | ${formatCount(expressBare)} | ${formatCount(otherFresh)} (${(otherFresh / expressBare).toFixed(2)}) | ${formatCount(otherReplay)} (${(otherReplay / expressBare).toFixed(2)}) | ${cpu("express|bare")} / ${cpu("express-idempotency|fresh")} / ${cpu("express-idempotency|replay")} |`,
  );
  return [
    "## HTTP adapters",
    "",
    `autocannon, 32 connections, ${seconds} s per measurement after a 1 s warm-up, median of ${rounds} rounds, the load generator in a process of its own, on the same 2-core machine as the server and redis-server. \`POST /orders\` answering a small JSON body with 201. "fresh key": a new Idempotency-Key per request (claim, run, complete); "replay": one key, every request after the first is a replay. In parentheses: the ratio to the bare framework (the floor: the same route without the middleware) in the same round. Server CPU: user + system time of the server's process (which also runs the store's client) per request, bare / fresh / replay.`,
    "",
    "| framework | store | bare req/s | fresh key req/s | replay req/s | server CPU µs per request |",
    "| --- | --- | ---: | ---: | ---: | ---: |",
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
