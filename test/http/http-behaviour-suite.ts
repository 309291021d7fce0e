// The behaviour every HTTP adapter must show, over real HTTP on loopback. Each adapter's test
// starts its framework with the routes below (test/http/start-servers.ts) and runs this suite.
import { request as httpRequest } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdempotencyStore } from "../../src/core/idempotency-store.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import type { StartedServer } from "../servers/listen.ts";
import type { StartAdapter, SuiteOptions } from "./start-servers.ts";

/** A response of a neutral route. */
export interface RouteResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string;
  /** Send the body as a stream. */
  readonly stream?: boolean;
}

/** Routes every adapter serves, as framework-neutral functions of the path and raw body. */
export interface SuiteRoutes {
  /** Handles any request; `claimed` says whether the handler found its request's claim. */
  handle(method: string, path: string, body: Uint8Array, claimed: boolean): Promise<RouteResponse>;
  /** How many times the handler of `path` ran. */
  runs(path: string): number;
  /** How many times the handler of `path` ran and found its claim. */
  claimedRuns(path: string): number;
  /** The request bodies the handler of `path` received. */
  bodies(path: string): readonly string[];
}

export interface HttpBehaviourSuiteOptions {
  readonly name: string;
  /** Starts the adapter on a free loopback port with these options and routes. */
  readonly start: StartAdapter;
  /** The store to use; a MemoryStore by default. */
  readonly createStore?: () => IdempotencyStore | Promise<IdempotencyStore>;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

const binaryBody = new Uint8Array(1024).map((_, index) => (index * 7) % 256);

export function createRoutes(): SuiteRoutes {
  const counts = new Map<string, number>();
  const claimed = new Map<string, number>();
  const bodies = new Map<string, string[]>();
  return {
    runs: (path) => counts.get(path) ?? 0,
    claimedRuns: (path) => claimed.get(path) ?? 0,
    bodies: (path) => bodies.get(path) ?? [],
    async handle(method, path, body, hasClaim) {
      const route = path.split("?")[0] ?? path;
      const count = (counts.get(route) ?? 0) + 1;
      counts.set(route, count);
      if (hasClaim) claimed.set(route, (claimed.get(route) ?? 0) + 1);
      const text = new TextDecoder().decode(body);
      bodies.set(route, [...(bodies.get(route) ?? []), text]);
      switch (route) {
        case "/orders":
          return {
            status: method === "GET" ? 200 : 201,
            headers: {
              "content-type": "application/json",
              "set-cookie": "session=secret",
              "x-order": String(count),
            },
            body: JSON.stringify({ order: count, received: text }),
          };
        case "/binary":
          return {
            status: 200,
            headers: { "content-type": "application/octet-stream" },
            body: binaryBody,
          };
        case "/slow":
          await delay(400);
          return {
            status: 201,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ slow: count }),
          };
        case "/flaky":
          return count === 1
            ? { status: 503, headers: {}, body: "try again" }
            : { status: 201, headers: {}, body: `ok ${count}` };
        case "/throws":
          if (count === 1) throw new Error("handler failed");
          return { status: 201, headers: {}, body: `ok ${count}` };
        case "/big":
          return {
            status: 200,
            headers: { "content-type": "text/plain" },
            body: "x".repeat(100 * 1024),
          };
        case "/stream":
          return {
            status: 201,
            headers: { "content-type": "text/plain" },
            body: `streamed ${count}`,
            stream: true,
          };
        default:
          return { status: 404, headers: {}, body: "not found" };
      }
    },
  };
}

export async function expectProblem(
  response: Response,
  status: number,
  type: string,
): Promise<{ detail?: string }> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  const problem = (await response.json()) as {
    type: string;
    status: number;
    title: string;
    detail?: string;
  };
  expect(problem.type).toBe(`urn:idempotent:problem:${type}`);
  expect(problem.status).toBe(status);
  expect(problem.title.length).toBeGreaterThan(0);
  return problem;
}

/** Sends `path` with a key over a fresh connection and destroys it after `afterMs`. */
function sendAndDisconnect(url: string, path: string, key: string, afterMs: number) {
  return new Promise<void>((resolve) => {
    const request = httpRequest(`${url}${path}`, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/json",
        "idempotency-key": key,
        "x-tenant": "acme",
      },
    });
    request.on("error", () => undefined);
    request.end('{"sku":1}');
    setTimeout(() => {
      request.destroy();
      resolve();
    }, afterMs);
  });
}

/** A store whose every operation fails as a server outage would. */
function brokenStore(): IdempotencyStore {
  const fail = async (): Promise<never> => {
    throw new StoreError("connection", "tryInsert", "connection refused");
  };
  return { tryInsert: fail, complete: fail, touch: fail, remove: fail, get: fail, purge: fail };
}

/**
 * Runs every behaviour of the HTTP layer against an adapter.
 */
export function runHttpBehaviourSuite(suite: HttpBehaviourSuiteOptions): void {
  describe(`${suite.name}: HTTP idempotency behaviour`, () => {
    if (suite.setup !== undefined) beforeAll(suite.setup, 120_000);
    if (suite.teardown !== undefined) afterAll(suite.teardown, 120_000);

    const servers: StartedServer[] = [];
    afterAll(async () => {
      await Promise.all(servers.map((server) => server.close()));
    });
    const start = async (overrides: Partial<SuiteOptions> = {}) => {
      const routes = createRoutes();
      const store = await (suite.createStore?.() ?? new MemoryStore());
      const errors: unknown[] = [];
      const server = await suite.start(
        {
          store,
          maxResponseBytes: 64 * 1024,
          maxRequestBytes: 16 * 1024,
          onError: (error) => errors.push(error),
          ...overrides,
        },
        routes,
      );
      servers.push(server);
      const send = (
        path: string,
        init: {
          key?: string;
          body?: string;
          method?: string;
          tenant?: string | null;
          headers?: Record<string, string>;
        } = {},
      ) =>
        fetch(`${server.url}${path}`, {
          method: init.method ?? "POST",
          headers: {
            "content-type": "application/json",
            ...(init.tenant === null ? {} : { "x-tenant": init.tenant ?? "acme" }),
            ...(init.key === undefined ? {} : { "idempotency-key": init.key }),
            ...init.headers,
          },
          ...(init.method === "GET" ? {} : { body: init.body ?? '{"sku":1}' }),
        });
      return { routes, send, server, store, errors };
    };
    const fresh = () => `k-${Math.random().toString(36).slice(2)}`;

    it("executes the first request and replays it byte for byte, without the handler", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const first = await send("/orders", { key });
      const firstBody = await first.text();
      expect(first.status).toBe(201);
      expect(first.headers.get("idempotent-replayed")).toBeNull();
      const retry = await send("/orders", { key });
      expect(retry.status).toBe(201);
      expect(await retry.text()).toBe(firstBody);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(retry.headers.get("x-order")).toBe("1");
      expect(retry.headers.get("content-type")).toContain("application/json");
      expect(retry.headers.get("set-cookie")).toBeNull();
      expect(routes.runs("/orders")).toBe(1);
      expect(routes.claimedRuns("/orders")).toBe(1);
    });

    it("hands the handler its claim only when the request is guarded", async () => {
      const { routes, send } = await start();
      await send("/orders", { key: fresh() });
      await send("/orders");
      expect(routes.runs("/orders")).toBe(2);
      expect(routes.claimedRuns("/orders")).toBe(1);
    });

    it("accepts the structured-field string form of the key as the same key", async () => {
      const { routes, send } = await start();
      const key = fresh();
      await send("/orders", { key: `"${key}"` });
      const retry = await send("/orders", { key });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(routes.runs("/orders")).toBe(1);
    });

    it("accepts keys as clients send them: separators, and 255 characters for any caller", async () => {
      const { routes, send } = await start();
      const longCaller = `ak_${"z".repeat(197)}`;
      const keys = ["order:123", "user/42", "a:b/c:d", "x".repeat(255), `"${"q".repeat(255)}"`];
      for (const key of keys) {
        for (const tenant of ["acme", longCaller]) {
          const first = await send("/orders", { key, tenant });
          expect(first.status).toBe(201);
          const retry = await send("/orders", { key, tenant });
          expect(retry.headers.get("idempotent-replayed")).toBe("true");
        }
      }
      expect(routes.runs("/orders")).toBe(keys.length * 2);
    });

    it("answers an invalid key with 400 and runs nothing", async () => {
      const { routes, send } = await start();
      for (const key of ['"unterminated', '""', "x".repeat(256), '"a\\nb"']) {
        await expectProblem(await send("/orders", { key }), 400, "invalid-key");
      }
      expect(routes.runs("/orders")).toBe(0);
    });

    it("refuses an anonymous request with a key (401), never pooling it with others", async () => {
      const { routes, send } = await start();
      await expectProblem(
        await send("/orders", { key: fresh(), tenant: null }),
        401,
        "scope-missing",
      );
      await expectProblem(
        await send("/orders", { key: fresh(), tenant: "" }),
        401,
        "scope-missing",
      );
      expect(routes.runs("/orders")).toBe(0);
    });

    it("keeps no caller identity in the store's keys", async () => {
      const seen: string[] = [];
      const memory = await (suite.createStore?.() ?? new MemoryStore());
      const recording: IdempotencyStore = {
        tryInsert: (key, entry, options) => {
          seen.push(key.value);
          return memory.tryInsert(key, entry, options);
        },
        complete: (...args) => memory.complete(...args),
        touch: (...args) => memory.touch(...args),
        remove: (...args) => memory.remove(...args),
        get: (key) => memory.get(key),
        purge: (key) => memory.purge(key),
      };
      const { send } = await start({ store: recording });
      const secret = "sk_live_secret_api_key";
      expect((await send("/orders", { key: "order:1", tenant: secret })).status).toBe(201);
      expect(seen).toHaveLength(1);
      expect(seen[0]).not.toContain(secret);
      expect(seen[0]).not.toContain("order");
      expect(seen[0]?.length).toBe(46);
    });

    it("passes requests without a key, and other methods, through; requires a key when told", async () => {
      const { routes, send } = await start();
      await send("/orders");
      await send("/orders");
      await send("/orders", { method: "GET", key: fresh() });
      expect(routes.runs("/orders")).toBe(3);
      const strict = await start({ required: true });
      await expectProblem(await strict.send("/orders"), 400, "key-required");
      expect(strict.routes.runs("/orders")).toBe(0);
    });

    it("answers 409 with Retry-After while the first request runs, or waits when configured", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const first = send("/slow", { key });
      await delay(100);
      const busy = await send("/slow", { key });
      await expectProblem(busy, 409, "in-flight");
      expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await first).status).toBe(201);
      expect(routes.runs("/slow")).toBe(1);

      const patient = await start({ waitMs: 3000 });
      const waitKey = fresh();
      const original = patient.send("/slow", { key: waitKey });
      await delay(100);
      const waited = await patient.send("/slow", { key: waitKey });
      expect(waited.status).toBe(201);
      expect(waited.headers.get("idempotent-replayed")).toBe("true");
      expect(await waited.text()).toBe(await (await original).text());
      expect(patient.routes.runs("/slow")).toBe(1);
    });

    it("keeps the claim when the client disconnects: the retry replays the handler's response", async () => {
      const { routes, send, server } = await start();
      const key = fresh();
      await sendAndDisconnect(server.url, "/slow", key, 100);
      // The handler still runs; a retry meanwhile must not run it again.
      await expectProblem(await send("/slow", { key }), 409, "in-flight");
      await delay(600);
      const retry = await send("/slow", { key });
      expect(retry.status).toBe(201);
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await retry.json()).toEqual({ slow: 1 });
      expect(routes.runs("/slow")).toBe(1);
    });

    it("treats re-spaced and reordered JSON as the same request", async () => {
      const { routes, send } = await start();
      const key = fresh();
      await send("/orders", { key, body: '{"sku":1,"lines":[{"a":1,"b":2}]}' });
      const respaced = await send("/orders", {
        key,
        body: '{ "lines" : [ { "b": 2, "a": 1 } ], "sku" : 1 }',
      });
      expect(respaced.headers.get("idempotent-replayed")).toBe("true");
      const changed = await send("/orders", { key, body: '{"sku":1,"lines":[{"a":1,"b":3}]}' });
      await expectProblem(changed, 422, "fingerprint-mismatch");
      expect(routes.runs("/orders")).toBe(1);
    });

    it("tells apart numbers a double cannot (an account id past 2^53, a 20-digit amount)", async () => {
      const { routes, send } = await start();
      for (const [first, second] of [
        ['{"to":9007199254740993}', '{"to":9007199254740992}'],
        ['{"amount":100.00000000000000001}', '{"amount":100}'],
        ['{"amount":1e400}', '{"amount":null}'],
      ] as const) {
        const key = fresh();
        expect((await send("/orders", { key, body: first })).status).toBe(201);
        const respelled = await send("/orders", { key, body: first.replace(":", " : ") });
        expect(respelled.headers.get("idempotent-replayed")).toBe("true");
        await expectProblem(
          await send("/orders", { key, body: second }),
          422,
          "fingerprint-mismatch",
        );
      }
      expect(routes.runs("/orders")).toBe(3);
    });

    it("fingerprints the chosen part of a JSON body: a new timestamp replays, a new amount conflicts", async () => {
      const { routes, send } = await start({
        fingerprintBody: (json) => (json as { payment?: unknown }).payment,
      });
      const key = fresh();
      const body = (sentAt: string, amount: number) =>
        JSON.stringify({ sentAt, payment: { amount, currency: "EUR" } });
      await send("/orders", { key, body: body("2026-12-01T10:00:00Z", 4200) });
      const retry = await send("/orders", { key, body: body("2026-12-01T10:00:09Z", 4200) });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      const other = await send("/orders", { key, body: body("2026-12-01T10:00:09Z", 9900) });
      await expectProblem(other, 422, "fingerprint-mismatch");
      expect(routes.runs("/orders")).toBe(1);
    });

    it("takes the key from the body when told (a webhook's event id)", async () => {
      const { routes, send } = await start({
        keyFromBody: (json) => (json as { id?: string }).id,
      });
      const event = JSON.stringify({ id: `evt_${fresh()}:1`, type: "payment.succeeded" });
      expect((await send("/orders", { body: event })).status).toBe(201);
      const redelivered = await send("/orders", { body: event });
      expect(redelivered.headers.get("idempotent-replayed")).toBe("true");
      // No id in the body and no header: passes through, unguarded, for any caller.
      await send("/orders", { body: '{"type":"ping"}' });
      expect((await send("/orders", { body: '{"type":"ping"}', tenant: null })).status).toBe(201);
      expect(routes.runs("/orders")).toBe(3);
      expect(routes.claimedRuns("/orders")).toBe(1);
    });

    it("answers 422 when the key is reused for another body or path", async () => {
      const { routes, send } = await start();
      const key = fresh();
      await send("/orders", { key, body: '{"sku":1}' });
      await expectProblem(
        await send("/orders", { key, body: '{"sku":2}' }),
        422,
        "fingerprint-mismatch",
      );
      await expectProblem(
        await send("/binary", { key, body: '{"sku":1}' }),
        422,
        "fingerprint-mismatch",
      );
      expect(routes.runs("/orders")).toBe(1);
      expect(routes.runs("/binary")).toBe(0);
    });

    it("does not cache 5xx, and releases the claim of a handler that throws", async () => {
      const { routes, send } = await start({ onError: () => undefined });
      const key = fresh();
      expect((await send("/flaky", { key })).status).toBe(503);
      const retry = await send("/flaky", { key });
      expect(retry.status).toBe(201);
      expect(routes.runs("/flaky")).toBe(2);
      const throwKey = fresh();
      expect((await send("/throws", { key: throwKey })).status).toBe(500);
      await delay(20);
      expect((await send("/throws", { key: throwKey })).status).toBe(201);
      expect(routes.runs("/throws")).toBe(2);
    });

    it("replays binary bodies byte for byte, and streamed responses like any other", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const first = new Uint8Array(await (await send("/binary", { key })).arrayBuffer());
      const retry = await send("/binary", { key });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      const replayed = new Uint8Array(await retry.arrayBuffer());
      expect(Buffer.from(first).equals(Buffer.from(binaryBody))).toBe(true);
      expect(Buffer.from(replayed).equals(Buffer.from(binaryBody))).toBe(true);
      const streamKey = fresh();
      expect(await (await send("/stream", { key: streamKey })).text()).toBe("streamed 1");
      const streamRetry = await send("/stream", { key: streamKey });
      expect(streamRetry.headers.get("idempotent-replayed")).toBe("true");
      expect(await streamRetry.text()).toBe("streamed 1");
      expect(routes.runs("/stream")).toBe(1);
    });

    it("keeps tenants apart under the same key", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const a = await (await send("/orders", { key, tenant: "acme" })).text();
      const b = await (await send("/orders", { key, tenant: "globex" })).text();
      expect(a).not.toBe(b);
      expect(await (await send("/orders", { key, tenant: "acme" })).text()).toBe(a);
      expect(await (await send("/orders", { key, tenant: "globex" })).text()).toBe(b);
      expect(routes.runs("/orders")).toBe(2);
    });

    it("serves but does not cache responses over the limit; refuses request bodies over it", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const big = await send("/big", { key });
      expect((await big.text()).length).toBe(100 * 1024);
      await delay(20);
      const again = await send("/big", { key });
      expect(again.headers.get("idempotent-replayed")).toBeNull();
      await again.text();
      expect(routes.runs("/big")).toBe(2);
      await expectProblem(
        await send("/orders", { key: fresh(), body: "x".repeat(17 * 1024) }),
        413,
        "request-too-large",
      );
      expect(routes.runs("/orders")).toBe(0);
      // A request the layer does not guard is not limited by it.
      expect((await send("/orders", { body: "x".repeat(17 * 1024) })).status).toBe(201);
    });

    it("answers 503 with Retry-After when the store fails, without running the handler", async () => {
      const { routes, send, errors } = await start({ store: brokenStore() });
      const response = await send("/orders", { key: fresh() });
      await expectProblem(response, 503, "store-unavailable");
      expect(response.headers.get("retry-after")).toBe("1");
      expect(routes.runs("/orders")).toBe(0);
      expect(errors.some((error) => error instanceof StoreError)).toBe(true);
    });

    it("answers a programming error with a 500 problem without details, and reports it", async () => {
      const errors: unknown[] = [];
      const failing = await start({
        onError: (error) => errors.push(error),
        fingerprintStrategy: {
          compute: () => {
            throw new TypeError("fingerprint strategy bug at /srv/app/secret.ts:12");
          },
        },
      });
      const response = await failing.send("/orders", { key: fresh() });
      const problem = await expectProblem(response, 500, "internal-error");
      expect(problem.detail).toBeUndefined();
      expect(JSON.stringify(problem)).not.toContain("secret");
      expect(errors.some((error) => error instanceof TypeError)).toBe(true);
      expect(failing.routes.runs("/orders")).toBe(0);
    });

    it("contains an onError that throws", async () => {
      const { routes, send } = await start({
        store: brokenStore(),
        onError: () => {
          throw new Error("reporter failed");
        },
      });
      await expectProblem(await send("/orders", { key: fresh() }), 503, "store-unavailable");
      expect(routes.runs("/orders")).toBe(0);
    });

    it("excludes headers on top of the defaults; replays Set-Cookie only when told", async () => {
      const excluding = await start({ excludedHeaders: ["x-order"] });
      const key = fresh();
      await excluding.send("/orders", { key });
      const replay = await excluding.send("/orders", { key });
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replay.headers.get("x-order")).toBeNull();
      expect(replay.headers.get("set-cookie")).toBeNull();

      const cookies = await start({ replaySetCookie: true });
      const cookieKey = fresh();
      await cookies.send("/orders", { key: cookieKey });
      const withCookie = await cookies.send("/orders", { key: cookieKey });
      expect(withCookie.headers.get("idempotent-replayed")).toBe("true");
      expect(withCookie.headers.get("set-cookie")).toBe("session=secret");
    });

    it("replays exactly the original's headers with CORS and security headers mounted first", async () => {
      const { routes, send } = await start({ headerMiddleware: true });
      const key = fresh();
      const origin = { origin: "https://shop.example" };
      const first = await send("/orders", { key, headers: origin });
      await first.text();
      const retry = await send("/orders", { key, headers: origin });
      await retry.text();
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      const comparable = (response: Response) =>
        [...response.headers]
          .filter(
            ([name]) =>
              ![
                "date",
                "idempotent-replayed",
                "set-cookie",
                "keep-alive",
                "connection",
                "content-length",
              ].includes(name),
          )
          .map(([name, value]) => `${name}: ${value}`)
          .sort();
      expect(comparable(retry)).toEqual(comparable(first));
      expect(retry.headers.get("access-control-allow-origin") ?? "").not.toContain(",");
      expect(routes.runs("/orders")).toBe(1);
    });

    it("runs the handler once for 100 concurrent identical requests", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const responses = await Promise.all(
        Array.from({ length: 100 }, () => send("/slow", { key })),
      );
      expect(routes.runs("/slow")).toBe(1);
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status === 201).length).toBeGreaterThanOrEqual(1);
      expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
      const executed = responses.filter(
        (response) =>
          response.status === 201 && response.headers.get("idempotent-replayed") === null,
      );
      expect(executed).toHaveLength(1);
      await Promise.all(responses.map((response) => response.arrayBuffer()));
    });

    it("answers fuzzed keys and bodies only with a well-formed 4xx or a correct answer", async () => {
      const { send } = await start();
      const headerValue = /^[\t\x20-\x7e]*$/;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.string({ maxLength: 300 }),
            fc.stringMatching(/^"[ -~]{0,40}"$/),
            fc.string({ unit: "binary", maxLength: 20 }),
          ),
          fc.oneof(fc.string({ maxLength: 200 }), fc.constant('{"sku":1}')),
          async (key, body) => {
            let response: Response;
            try {
              response = await send("/orders", { key, body });
            } catch (error) {
              // Only a value no header may carry can fail: refused by the client, or by the
              // server's HTTP parser before any of our code runs.
              expect(headerValue.test(key), String(error)).toBe(false);
              return;
            }
            if (response.status === 201) {
              const parsed = (await response.json()) as { received: string };
              expect(parsed.received).toBe(body);
            } else if (response.status === 200 || response.headers.get("idempotent-replayed")) {
              throw new Error(`unexpected ${response.status}`);
            } else {
              expect([400, 409, 422]).toContain(response.status);
              expect(response.headers.get("content-type")).toContain("application/problem+json");
              const problem = (await response.json()) as { type: string };
              expect(problem.type).toMatch(/^urn:idempotent:problem:/);
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });
}
