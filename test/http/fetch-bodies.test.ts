// fetch specifics the shared suite's neutral routes do not reach: the request the handler gets
// (a copy over the bytes read, or the request itself when a copy would lose something), and
// responses whose body is streamed, empty, or already used by the handler.
import { describe, expect, it } from "vitest";
import { idempotencyOf, withIdempotency } from "../../src/http/fetch/index.ts";
import { MemoryStore } from "../../src/stores/memory/index.ts";
import { serveFetch } from "../servers/listen.ts";

const url = "http://127.0.0.1/orders?dry=1";

function post(key: string, body: BodyInit | null, headers: Record<string, string> = {}) {
  return new Request(url, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key, ...headers },
    body,
    duplex: "half",
  } as RequestInit);
}

/** A body stream of `parts`, one chunk each, with no declared length. */
function streamOf(parts: readonly string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

describe("the request a fetch handler gets", () => {
  it("reads the body as sent, with the URL, method, headers and claim of the request", async () => {
    const seen: unknown[] = [];
    const handler = withIdempotency(
      async (request: Request) => {
        seen.push([
          request.url,
          request.method,
          request.headers.get("x-tenant"),
          await request.json(),
          idempotencyOf(request) !== undefined,
        ]);
        return Response.json({ ok: true }, { status: 201 });
      },
      { store: new MemoryStore(), scope: "global" },
    );
    const body = '{"sku":42}';
    const response = await handler(
      post("copy-1", body, { "content-length": String(body.length), "x-tenant": "a" }),
    );
    expect(response.status).toBe(201);
    expect(seen).toEqual([[url, "POST", "a", { sku: 42 }, true]]);
  });

  it("reads a body without a declared length in place, up to the limit", async () => {
    const texts: string[] = [];
    const handler = withIdempotency(
      async (request: Request) => {
        texts.push(await request.text());
        return new Response("done");
      },
      { store: new MemoryStore(), scope: "global", maxRequestBytes: 8 },
    );
    const fits = await handler(post("chunked-1", streamOf(['{"a"', ":1}"])));
    expect(fits.status).toBe(200);
    expect(texts).toEqual(['{"a":1}']);
    const tooLong = await handler(post("chunked-2", streamOf(['{"a":', '"123456"}'])));
    expect(tooLong.status).toBe(413);
    expect(texts).toHaveLength(1);
  });

  it("hands a Request subclass on as it came, its body read from a clone", async () => {
    class RoutedRequest extends Request {
      readonly route = "orders";
    }
    const received: Request[] = [];
    const handler = withIdempotency(
      async (request: Request) => {
        received.push(request);
        return Response.json(await request.json());
      },
      { store: new MemoryStore(), scope: "global" },
    );
    const request = new RoutedRequest(post("subclass-1", '{"sku":1}'));
    const response = await handler(request);
    expect(await response.json()).toEqual({ sku: 1 });
    expect(received[0]).toBe(request);
    expect(idempotencyOf(request)).toBeDefined();
  });

  it("hands a request carrying a router's own properties on as it came", async () => {
    const handler = withIdempotency(
      async (request: Request & { params?: { id: string } }) =>
        Response.json({ id: request.params?.id, body: await request.text() }),
      { store: new MemoryStore(), scope: "global" },
    );
    const request = Object.assign(post("params-1", '{"sku":2}'), { params: { id: "7" } });
    const response = await handler(request);
    expect(await response.json()).toEqual({ id: "7", body: '{"sku":2}' });
  });

  it("hands a request without a body on as it came", async () => {
    const received: Request[] = [];
    const handler = withIdempotency(
      (request: Request) => {
        received.push(request);
        return new Response("ok", { status: 201 });
      },
      { store: new MemoryStore(), scope: "global" },
    );
    const request = post("no-body-1", null);
    expect((await handler(request)).status).toBe(201);
    expect(received[0]).toBe(request);
    const replay = await handler(post("no-body-1", null));
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });
});

describe("fetch responses", () => {
  function guarded(respond: () => Response | Promise<Response>) {
    let runs = 0;
    const handler = withIdempotency(
      async () => {
        runs++;
        return respond();
      },
      {
        store: new MemoryStore(),
        scope: "global",
        replaySetCookie: true,
        onError: () => undefined,
      },
    );
    return { handler, runs: () => runs };
  }

  it("stores a streamed body as sent, and sends it whole", async () => {
    const { handler, runs } = guarded(
      () =>
        new Response(streamOf(['{"id":', "42", "}"]), {
          status: 201,
          headers: { "content-type": "application/json", "x-order": "42" },
        }),
    );
    const first = await handler(post("stream-1", "{}"));
    const replay = await handler(post("stream-1", "{}"));
    for (const response of [first, replay]) {
      expect(response.status).toBe(201);
      expect(response.headers.get("x-order")).toBe("42");
      expect(await response.text()).toBe('{"id":42}');
    }
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(runs()).toBe(1);
  });

  it("sends and releases a streamed body longer than maxResponseBytes", async () => {
    let runs = 0;
    const handler = withIdempotency(
      () => {
        runs++;
        return new Response(streamOf(["0123456789", "0123456789"]), { status: 201 });
      },
      { store: new MemoryStore(), scope: "global", maxResponseBytes: 15 },
    );
    const first = await handler(post("long-1", "{}"));
    expect(await first.text()).toBe("01234567890123456789");
    const retry = await handler(post("long-1", "{}"));
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect(await retry.text()).toBe("01234567890123456789");
    expect(runs).toBe(2);
  });

  it.each([
    ["an empty body", "empty-1", () => new Response("", { status: 201, headers: { "x-a": "1" } })],
    ["no body", "empty-2", () => new Response(null, { status: 201, headers: { "x-a": "1" } })],
    ["a 204", "empty-3", () => new Response(null, { status: 204, headers: { "x-a": "1" } })],
  ])("replays %s as sent: status, headers, no bytes", async (_, key, respond) => {
    const { handler, runs } = guarded(respond);
    const first = await handler(post(key, "{}"));
    const replay = await handler(post(key, "{}"));
    for (const response of [first, replay]) {
      expect(response.status).toBe(respond().status);
      expect(response.headers.get("x-a")).toBe("1");
      expect(await response.text()).toBe("");
    }
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(runs()).toBe(1);
  });

  it("replays every value of a repeated header", async () => {
    const { handler } = guarded(() => {
      const headers = new Headers({ "content-type": "text/plain" });
      headers.append("set-cookie", "a=1");
      headers.append("set-cookie", "b=2");
      return new Response("ok", { status: 201, headers });
    });
    await handler(post("cookies-1", "{}"));
    const replay = await handler(post("cookies-1", "{}"));
    expect(replay.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(replay.headers.get("content-type")).toBe("text/plain");
  });

  it("replays a body without a content type as @hono/node-server sent the original", async () => {
    const { handler } = guarded(
      () => new Response("hi", { status: 201, headers: new Headers({ "x-a": "1" }) }),
    );
    const server = await serveFetch(handler);
    try {
      const send = () =>
        fetch(`${server.url}/orders`, {
          method: "POST",
          headers: { "idempotency-key": "untyped-1" },
          body: "{}",
        });
      const first = await send();
      const replay = await send();
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(first.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
      expect(replay.headers.get("content-type")).toBe(first.headers.get("content-type"));
      expect(await replay.text()).toBe(await first.text());
    } finally {
      await server.close();
    }
  });

  it("fails, and releases the key, when the handler returns a Response whose body it used", async () => {
    const { handler, runs } = guarded(async () => {
      const response = Response.json({ id: 1 }, { status: 201 });
      await response.text();
      return response;
    });
    await expect(handler(post("used-1", "{}"))).rejects.toThrow(TypeError);
    await expect(handler(post("used-1", "{}"))).rejects.toThrow(TypeError);
    expect(runs()).toBe(2);
  });
});
