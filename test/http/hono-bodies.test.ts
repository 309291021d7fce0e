// Hono specifics the shared suite's neutral routes do not reach: responses built with the
// context's helpers (captured from the bytes handed to them), and a request body read once and
// still readable by the route through every Hono API.
import { request as httpRequest } from "node:http";
import { Hono } from "hono";
import { afterAll, describe, expect, it } from "vitest";
import { idempotency } from "../../src/http/hono/index.ts";
import { MemoryStore } from "../../src/stores/memory/index.ts";
import { serveFetch, type StartedServer } from "../servers/listen.ts";

const servers: StartedServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
});

async function start(app: Hono): Promise<string> {
  const server = await serveFetch(app.fetch);
  servers.push(server);
  return server.url;
}

function post(url: string, key: string, body: string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key, ...headers },
    body,
  });
}

/** Sends `body` with chunked framing (no Content-Length); resolves with status and text. */
function postChunked(url: string, key: string, body: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = httpRequest(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": key,
        "transfer-encoding": "chunked",
      },
    });
    request.on("response", (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, text });
      });
    });
    request.on("error", reject);
    request.write(body.slice(0, 3));
    request.end(body.slice(3));
  });
}

describe("hono responses built with the context's helpers", () => {
  const app = new Hono();
  let runs = 0;
  app.use(idempotency({ store: new MemoryStore(), scope: "global" }));
  app.post("/json", (c) => {
    runs++;
    c.header("x-run", String(runs));
    return c.json({ run: runs, text: "é ☃" }, 201, { "x-extra": "1" });
  });
  app.post("/text", (c) => c.text(`run ${++runs} ü`, 202));
  app.post("/plain", (c) => c.text(`plain ${++runs}`));
  app.post("/body", (c) =>
    c.body(new Uint8Array([++runs, 0, 255]), 200, { "content-type": "x/y" }),
  );
  app.post("/html", (c) => c.html(`<p>${++runs}</p>`));
  app.post("/empty", (c) => c.body(null, 204));
  app.post("/new", (c) => c.newResponse(`new ${++runs}`, 200));

  it.each(["/json", "/text", "/plain", "/body", "/html", "/empty", "/new"])(
    "%s: the replay has the original's status, headers and exact bytes",
    async (path) => {
      const url = `${await start(app)}${path}`;
      const first = await post(url, `k${path}`, "{}");
      const firstBytes = new Uint8Array(await first.arrayBuffer());
      const before = runs;
      const replay = await post(url, `k${path}`, "{}");
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.status).toBe(first.status);
      expect(new Uint8Array(await replay.arrayBuffer())).toEqual(firstBytes);
      for (const name of ["content-type", "x-run", "x-extra"]) {
        expect(replay.headers.get(name)).toBe(first.headers.get(name));
      }
      expect(runs).toBe(before);
    },
  );

  it("sends c.json's body as Hono does, with its JSON content type", async () => {
    const url = `${await start(app)}/json`;
    const response = await post(url, "json-shape", "{}");
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("x-extra")).toBe("1");
    expect(await response.json()).toEqual({ run: runs, text: "é ☃" });
  });
});

describe("hono request bodies", () => {
  const received: unknown[] = [];
  const app = new Hono();
  app.use(idempotency({ store: new MemoryStore(), scope: "global" }));
  app.post("/hono-json", async (c) => {
    received.push(await c.req.json());
    return c.json({ ok: true });
  });
  app.post("/raw-text", async (c) => {
    received.push(await c.req.raw.text());
    return c.json({ ok: true });
  });
  app.post("/both", async (c) => {
    received.push([await c.req.text(), c.req.header("content-type"), c.req.raw.bodyUsed]);
    received.push(await c.req.raw.json());
    return c.json({ ok: true });
  });
  app.post("/stream", async (c) => {
    const reader = c.req.raw.clone().body?.getReader();
    let text = "";
    for (let next = await reader?.read(); next?.done === false; next = await reader?.read()) {
      text += new TextDecoder().decode(next.value);
    }
    received.push(text);
    return c.json({ ok: true });
  });

  it.each([
    ["/hono-json", { sku: 1 }],
    ["/raw-text", '{"sku":1}'],
    ["/stream", '{"sku":1}'],
  ])("%s reads the body as sent, and a changed body is a 422", async (path, expected) => {
    received.length = 0;
    const url = `${await start(app)}${path}`;
    expect((await post(url, `b${path}`, '{"sku":1}')).status).toBe(200);
    expect(received).toEqual([expected]);
    expect((await post(url, `b${path}`, '{"sku":1}')).headers.get("idempotent-replayed")).toBe(
      "true",
    );
    expect((await post(url, `b${path}`, '{"sku":2}')).status).toBe(422);
    expect(received).toEqual([expected]);
  });

  it("serves c.req and c.req.raw alike, headers included", async () => {
    received.length = 0;
    const url = `${await start(app)}/both`;
    expect((await post(url, "both", '{"sku":3}')).status).toBe(200);
    expect(received).toEqual([['{"sku":3}', "application/json", false], { sku: 3 }]);
  });

  it("reads a chunked body (no Content-Length) for the fingerprint and for the route", async () => {
    received.length = 0;
    const url = `${await start(app)}/hono-json`;
    const first = await postChunked(url, "chunked", '{"sku":4}');
    expect(first.status).toBe(200);
    expect(received).toEqual([{ sku: 4 }]);
    expect((await post(url, "chunked", '{"sku":4}')).headers.get("idempotent-replayed")).toBe(
      "true",
    );
    expect((await postChunked(url, "chunked", '{"sku":5}')).status).toBe(422);
    expect(received).toEqual([{ sku: 4 }]);
  });
});

describe("hono replays", () => {
  it("sends every value of a repeated header, through @hono/node-server", async () => {
    const app = new Hono();
    let runs = 0;
    app.use(idempotency({ store: new MemoryStore(), scope: "global", replaySetCookie: true }));
    app.post("/cookies", (c) => {
      runs++;
      c.header("set-cookie", "a=1", { append: true });
      c.header("set-cookie", "b=2", { append: true });
      return c.text("ok", 201);
    });
    const url = `${await start(app)}/cookies`;
    const first = await post(url, "cookies", "{}");
    const replay = await post(url, "cookies", "{}");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(replay.headers.getSetCookie()).toEqual(first.headers.getSetCookie());
    expect(await replay.text()).toBe("ok");
    expect(runs).toBe(1);
  });

  it("sends a body the route gave no content type with the type the original had", async () => {
    const app = new Hono();
    app.use(idempotency({ store: new MemoryStore(), scope: "global" }));
    app.post("/untyped", (c) => {
      c.header("x-a", "1");
      return c.body(new Uint8Array([104, 105]), 201);
    });
    const url = `${await start(app)}/untyped`;
    const first = await post(url, "untyped", "{}");
    const replay = await post(url, "untyped", "{}");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(first.headers.get("content-type")).not.toBeNull();
    expect(replay.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(await replay.text()).toBe(await first.text());
  });
});
