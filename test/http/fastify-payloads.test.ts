// Fastify routes answer with more than strings and buffers: a web ReadableStream, a fetch
// Response (its status and headers included), a Node stream, a stream-like object with `pipe`. Each must be
// stored as sent, so the replay equals the original; none may be cached as an empty 200.
import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/index.ts";
import { idempotency } from "../../src/http/fastify/index.ts";
import { MemoryStore } from "../../src/stores/memory/index.ts";

interface Answer {
  readonly status: number;
  readonly headers: readonly string[];
  readonly body: string;
  readonly replayed: boolean;
}

// Headers that differ between any two answers, or mark the replay.
const varying = new Set(["date", "connection", "keep-alive", "idempotent-replayed"]);

function post(url: string, key: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
    });
    request.on("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const headers: string[] = [];
        for (let index = 0; index < response.rawHeaders.length; index += 2) {
          const name = (response.rawHeaders[index] ?? "").toLowerCase();
          if (!varying.has(name)) headers.push(`${name}: ${response.rawHeaders[index + 1]}`);
        }
        resolve({
          status: response.statusCode ?? 0,
          headers: headers.sort(),
          body: Buffer.concat(chunks).toString(),
          replayed: response.headers["idempotent-replayed"] === "true",
        });
      });
    });
    request.on("error", reject);
    request.end("{}");
  });
}

const encoder = new TextEncoder();
let app: FastifyInstance;
let url: string;
let runs = 0;

beforeAll(async () => {
  app = Fastify();
  await app.register(idempotency, { store: new MemoryStore(), scope: "global" });
  app.post("/web-stream", (_request, reply) => {
    const run = ++runs;
    return reply.send(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode(`web stream ${run}`));
          controller.close();
        },
      }),
    );
  });
  app.post("/response", async () => {
    const run = ++runs;
    return new Response(`response ${run}`, { status: 201, headers: { "x-run": String(run) } });
  });
  app.post("/empty-response", async () => {
    ++runs;
    return new Response(null, { status: 202, headers: { "x-empty": "yes" } });
  });
  app.post("/node-stream", (_request, reply) =>
    reply.send(Readable.from([`node stream ${++runs}`, " (two chunks)"])),
  );
  app.post("/pipe-like", (_request, reply) => {
    const stream = Readable.from([`pipe-like ${++runs}`]);
    return reply.send({
      pipe: (destination: NodeJS.WritableStream) => stream.pipe(destination),
      on: stream.on.bind(stream),
      once: stream.once.bind(stream),
    });
  });
  url = await app.listen({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await app.close();
});

describe("Fastify payloads beyond strings and buffers", () => {
  it.each(["/web-stream", "/response", "/empty-response", "/node-stream", "/pipe-like"])(
    "%s: the replay is the original, status, headers and body",
    async (route) => {
      const key = IdempotencyKey.random().value;
      const first = await post(url + route, key);
      const ranBefore = runs;
      const replay = await post(url + route, key);
      expect(runs).toBe(ranBefore);
      expect(first.replayed).toBe(false);
      expect(replay.replayed).toBe(true);
      expect({ ...replay, replayed: false }).toEqual(first);
      expect(first.status).toBeGreaterThanOrEqual(200);
      if (route !== "/empty-response") expect(first.body).not.toBe("");
    },
  );

  it("keeps a Response's status and headers", async () => {
    const first = await post(`${url}/response`, IdempotencyKey.random().value);
    expect(first.status).toBe(201);
    expect(first.headers).toContain(`x-run: ${runs}`);
    expect(first.body).toBe(`response ${runs}`);
  });
});
