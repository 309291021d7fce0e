// The behaviour every HTTP adapter must show, over real HTTP on loopback. Each adapter's test
// starts its framework with the routes below and calls runHttpBehaviourSuite.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdempotencyStore } from "../../core/idempotency-store.ts";
import { StoreError } from "../../errors/store-error.ts";
import { MemoryStore } from "../../stores/memory/memory-store.ts";
import type { StartedServer } from "../../../test/servers/listen.ts";
import type { HttpIdempotencyOptions } from "../http-idempotency.ts";

/** A response of a neutral route. */
export interface RouteResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array | string;
}

/** Routes every adapter serves, as framework-neutral functions of the path and raw body. */
export interface SuiteRoutes {
  /** Handles any request; throws for `/throws`. */
  handle(method: string, path: string, body: Uint8Array): Promise<RouteResponse>;
  /** How many times the handler of `path` ran. */
  runs(path: string): number;
}

export interface HttpBehaviourSuiteOptions {
  readonly name: string;
  /** Starts the adapter on a free loopback port with these options and routes. */
  readonly start: (options: HttpIdempotencyOptions, routes: SuiteRoutes) => Promise<StartedServer>;
  /** The store to use; a MemoryStore by default. */
  readonly createStore?: () => IdempotencyStore | Promise<IdempotencyStore>;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const binaryBody = new Uint8Array(1024).map((_, index) => (index * 7) % 256);

export function createRoutes(): SuiteRoutes {
  const counts = new Map<string, number>();
  return {
    runs: (path) => counts.get(path) ?? 0,
    async handle(method, path, body) {
      const route = path.split("?")[0] ?? path;
      const count = (counts.get(route) ?? 0) + 1;
      counts.set(route, count);
      const text = new TextDecoder().decode(body);
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
          await sleep(400);
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
        default:
          return { status: 404, headers: {}, body: "not found" };
      }
    },
  };
}

async function isProblem(response: Response, status: number, type: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/problem+json");
  const problem = (await response.json()) as { type: string; status: number; title: string };
  expect(problem.type).toBe(`urn:idempotent:problem:${type}`);
  expect(problem.status).toBe(status);
  expect(problem.title.length).toBeGreaterThan(0);
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
    const start = async (overrides: Partial<HttpIdempotencyOptions> = {}) => {
      const routes = createRoutes();
      const store = await (suite.createStore?.() ?? new MemoryStore());
      const server = await suite.start(
        {
          store,
          scope: (request) => request.header("x-tenant") ?? "anonymous",
          maxResponseBytes: 64 * 1024,
          maxRequestBytes: 16 * 1024,
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
          headers?: Record<string, string>;
        } = {},
      ) =>
        fetch(`${server.url}${path}`, {
          method: init.method ?? "POST",
          headers: {
            "content-type": "application/json",
            ...(init.key === undefined ? {} : { "idempotency-key": init.key }),
            ...init.headers,
          },
          ...(init.method === "GET" ? {} : { body: init.body ?? '{"sku":1}' }),
        });
      return { routes, send };
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
    });

    it("accepts the structured-field string form of the key as the same key", async () => {
      const { routes, send } = await start();
      const key = fresh();
      await send("/orders", { key: `"${key}"` });
      const retry = await send("/orders", { key });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(routes.runs("/orders")).toBe(1);
    });

    it("answers an invalid key with 400 and runs nothing", async () => {
      const { routes, send } = await start();
      for (const key of ['"unterminated', "a:b", '""', "x".repeat(300), '"a\\nb"']) {
        await isProblem(await send("/orders", { key }), 400, "invalid-key");
      }
      expect(routes.runs("/orders")).toBe(0);
    });

    it("passes requests without a key, and other methods, through; requires a key when told", async () => {
      const { routes, send } = await start();
      await send("/orders");
      await send("/orders");
      await send("/orders", { method: "GET", key: fresh() });
      expect(routes.runs("/orders")).toBe(3);
      const strict = await start({ required: true });
      await isProblem(await strict.send("/orders"), 400, "key-required");
      expect(strict.routes.runs("/orders")).toBe(0);
    });

    it("answers 409 with Retry-After while the first request runs, or waits when configured", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const first = send("/slow", { key });
      await sleep(100);
      const busy = await send("/slow", { key });
      await isProblem(busy, 409, "in-flight");
      expect(Number(busy.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect((await first).status).toBe(201);
      expect(routes.runs("/slow")).toBe(1);

      const patient = await start({ waitMs: 3000 });
      const waitKey = fresh();
      const original = patient.send("/slow", { key: waitKey });
      await sleep(100);
      const waited = await patient.send("/slow", { key: waitKey });
      expect(waited.status).toBe(201);
      expect(waited.headers.get("idempotent-replayed")).toBe("true");
      expect(await waited.text()).toBe(await (await original).text());
      expect(patient.routes.runs("/slow")).toBe(1);
    });

    it("answers 422 when the key is reused for another body or path", async () => {
      const { routes, send } = await start();
      const key = fresh();
      await send("/orders", { key, body: '{"sku":1}' });
      await isProblem(
        await send("/orders", { key, body: '{"sku":2}' }),
        422,
        "fingerprint-mismatch",
      );
      await isProblem(
        await send("/binary", { key, body: '{"sku":1}' }),
        422,
        "fingerprint-mismatch",
      );
      expect(routes.runs("/orders")).toBe(1);
      expect(routes.runs("/binary")).toBe(0);
    });

    it("does not cache 5xx, and releases the claim of a handler that throws", async () => {
      const { routes, send } = await start();
      const key = fresh();
      expect((await send("/flaky", { key })).status).toBe(503);
      const retry = await send("/flaky", { key });
      expect(retry.status).toBe(201);
      expect(routes.runs("/flaky")).toBe(2);
      const throwKey = fresh();
      expect((await send("/throws", { key: throwKey })).status).toBe(500);
      await sleep(20);
      expect((await send("/throws", { key: throwKey })).status).toBe(201);
      expect(routes.runs("/throws")).toBe(2);
    });

    it("replays binary bodies byte for byte", async () => {
      const { send } = await start();
      const key = fresh();
      const first = new Uint8Array(await (await send("/binary", { key })).arrayBuffer());
      const retry = await send("/binary", { key });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      const replayed = new Uint8Array(await retry.arrayBuffer());
      expect(Buffer.from(first).equals(Buffer.from(binaryBody))).toBe(true);
      expect(Buffer.from(replayed).equals(Buffer.from(binaryBody))).toBe(true);
    });

    it("keeps tenants apart under the same key", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const a = await (await send("/orders", { key, headers: { "x-tenant": "acme" } })).text();
      const b = await (await send("/orders", { key, headers: { "x-tenant": "globex" } })).text();
      expect(a).not.toBe(b);
      expect(await (await send("/orders", { key, headers: { "x-tenant": "acme" } })).text()).toBe(
        a,
      );
      expect(await (await send("/orders", { key, headers: { "x-tenant": "globex" } })).text()).toBe(
        b,
      );
      expect(routes.runs("/orders")).toBe(2);
    });

    it("serves but does not cache responses over the limit; refuses request bodies over it", async () => {
      const { routes, send } = await start();
      const key = fresh();
      const big = await send("/big", { key });
      expect((await big.text()).length).toBe(100 * 1024);
      await sleep(20);
      const again = await send("/big", { key });
      expect(again.headers.get("idempotent-replayed")).toBeNull();
      await again.text();
      expect(routes.runs("/big")).toBe(2);
      await isProblem(
        await send("/orders", { key: fresh(), body: "x".repeat(17 * 1024) }),
        413,
        "request-too-large",
      );
    });

    it("answers 503 when the store fails, without running the handler", async () => {
      const broken: IdempotencyStore = {
        tryInsert: async () => {
          throw new StoreError("connection", "tryInsert", "connection refused");
        },
        complete: async () => {
          throw new Error("unreachable");
        },
        touch: async () => {
          throw new Error("unreachable");
        },
        remove: async () => {
          throw new Error("unreachable");
        },
        get: async () => undefined,
        purge: async () => false,
      };
      const { routes, send } = await start({ store: broken });
      const response = await send("/orders", { key: fresh() });
      await isProblem(response, 503, "store-unavailable");
      expect(response.headers.get("retry-after")).toBe("1");
      expect(routes.runs("/orders")).toBe(0);
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
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.string({ maxLength: 80 }), fc.stringMatching(/^"[ -~]{0,40}"$/)),
          fc.oneof(fc.string({ maxLength: 200 }), fc.constant('{"sku":1}')),
          async (key, body) => {
            let response: Response;
            try {
              response = await send("/orders", { key, body });
            } catch {
              return; // the client itself refused the header value
            }
            if (response.status === 201) {
              const parsed = (await response.json()) as { received: string };
              expect(parsed.received).toBe(body);
            } else {
              expect([400, 409, 422]).toContain(response.status);
              expect(response.headers.get("content-type")).toContain("application/problem+json");
              const problem = (await response.json()) as { type: string };
              expect(problem.type).toMatch(/^urn:idempotent:problem:/);
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  });
}
