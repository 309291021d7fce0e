import {
  Body,
  Catch,
  Controller,
  Header,
  HttpCode,
  HttpException,
  Module,
  Post,
  Req,
  UseGuards,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type INestApplication,
} from "@nestjs/common";
import type { ServerResponse } from "node:http";
import type { FastifyReply } from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import {
  Idempotent,
  IdempotencyModule,
  IdempotencyProblemException,
  idempotencyOf,
} from "../../src/http/nestjs/index.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import type { StartedServer } from "../servers/listen.ts";
import { expectProblem, runHttpBehaviourSuite } from "./http-behaviour-suite.ts";
import { decorate, startNest, startNestExpress, startNestFastify } from "./nest-servers.ts";
import { valkeyStoreFixture } from "../servers/valkey-store-fixture.ts";

interface AuthedRequest {
  headers: { authorization?: string };
  user?: { id: string };
}

runHttpBehaviourSuite({ name: "nest (express) on the memory store", start: startNestExpress });
runHttpBehaviourSuite({ name: "nest (fastify) on the memory store", start: startNestFastify });

const valkey = valkeyStoreFixture("http-nestjs");
runHttpBehaviourSuite({
  name: "nest (express) on the Valkey/Redis store",
  start: startNestExpress,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});
runHttpBehaviourSuite({
  name: "nest (fastify) on the Valkey/Redis store",
  start: startNestFastify,
  createStore: valkey.createStore,
  setup: valkey.setup,
  teardown: valkey.teardown,
});

// Nest as its users write it: return values, the default body parser, guards, filters.
describe.each(["express", "fastify"] as const)("nest (%s) as Nest users write it", (platform) => {
  const servers: StartedServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });
  const fresh = () => `k-${Math.random().toString(36).slice(2)}`;

  /** A guard that refuses callers without a token and puts `{ id }` on `request.user`. */
  class AuthGuard implements CanActivate {
    canActivate(context: ExecutionContext): boolean {
      const request = context.switchToHttp().getRequest<AuthedRequest>();
      const token = request.headers.authorization;
      if (token === undefined) return false;
      request.user = { id: token.replace(/^Bearer /, "") };
      return true;
    }
  }

  function ordersController() {
    let runs = 0;
    class OrdersController {
      runs = () => runs;
      create(body: unknown, request: object) {
        runs += 1;
        return { order: runs, body, claimed: idempotencyOf(request) !== undefined };
      }
      strict(body: unknown) {
        runs += 1;
        return { strict: runs, body };
      }
      empty() {
        runs += 1;
      }
    }
    // On the controller: every route; `strict` also requires a key and fingerprints a header.
    decorate(OrdersController, [Controller("orders"), UseGuards(AuthGuard), Idempotent()]);
    decorate(OrdersController, [Post(), HttpCode(202), Header("x-api", "v1")], "create", [
      [0, Body()],
      [1, Req()],
    ]);
    decorate(
      OrdersController,
      [Post("strict"), Idempotent({ required: true, fingerprintHeaders: ["x-currency"] })],
      "strict",
      [[0, Body()]],
    );
    decorate(OrdersController, [Post("empty"), HttpCode(204)], "empty");
    return { OrdersController, runs: () => runs };
  }

  class OpenController {
    runs = 0;
    open() {
      this.runs += 1;
      return { open: this.runs };
    }
  }
  decorate(OpenController, [Controller("open")]);
  decorate(OpenController, [Post()], "open");

  const scope = (request: AuthedRequest) => request.user?.id;

  async function start(
    imports = [IdempotencyModule.forRoot<AuthedRequest>({ store: new MemoryStore(), scope })],
    configure?: (app: INestApplication) => void,
  ) {
    const { OrdersController, runs } = ordersController();
    const server = await startNest(
      platform,
      {
        imports,
        controllers: [OrdersController, OpenController],
      },
      configure,
    );
    servers.push(server);
    const send = (
      path: string,
      init: { key?: string; user?: string; body?: unknown; headers?: Record<string, string> } = {},
    ) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(init.user === undefined ? {} : { authorization: `Bearer ${init.user}` }),
          ...(init.key === undefined ? {} : { "idempotency-key": init.key }),
          ...init.headers,
        },
        body: JSON.stringify(init.body ?? { sku: 1 }),
      });
    return { send, runs };
  }

  it("replays a returned value with its @HttpCode and @Header, scoped by the guard's request.user", async () => {
    const { send, runs } = await start();
    const key = fresh();
    const first = await send("/orders", { key, user: "alice" });
    expect(first.status).toBe(202);
    expect(first.headers.get("x-api")).toBe("v1");
    const body = await first.text();
    expect(JSON.parse(body)).toEqual({ order: 1, body: { sku: 1 }, claimed: true });
    const retry = await send("/orders", { key, user: "alice" });
    expect(retry.status).toBe(202);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(retry.headers.get("x-api")).toBe("v1");
    expect(retry.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(await retry.text()).toBe(body);
    // Another user, same key: their own request. No user: the guard refuses before the layer.
    expect(
      (await send("/orders", { key, user: "bob" })).headers.get("idempotent-replayed"),
    ).toBeNull();
    expect((await send("/orders", { key })).status).toBe(403);
    expect(runs()).toBe(2);
  });

  it("takes a route's options over its controller's: a required key, a fingerprinted header", async () => {
    const { send, runs } = await start();
    await expectProblem(await send("/orders/strict", { user: "alice" }), 400, "key-required");
    // The controller's own route does not require one.
    expect((await send("/orders", { user: "alice" })).status).toBe(202);
    const key = fresh();
    const eur = { "x-currency": "EUR" };
    expect((await send("/orders/strict", { key, user: "alice", headers: eur })).status).toBe(201);
    await expectProblem(
      await send("/orders/strict", { key, user: "alice", headers: { "x-currency": "USD" } }),
      422,
      "fingerprint-mismatch",
    );
    const retry = await send("/orders/strict", { key, user: "alice", headers: eur });
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(runs()).toBe(2);
  });

  it("leaves routes without @Idempotent() alone", async () => {
    const { send } = await start();
    const key = fresh();
    await send("/open", { key });
    const again = await send("/open", { key });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(await again.json()).toEqual({ open: 2 });
  });

  it("lets an exception filter of the app write the body of the layer's problems", async () => {
    class ProblemFilter implements ExceptionFilter {
      catch(exception: HttpException, host: ArgumentsHost) {
        const body = {
          error:
            exception instanceof IdempotencyProblemException ? exception.problem.type : "other",
          statusCode: exception.getStatus(),
        };
        const response = host.switchToHttp().getResponse<{ raw?: unknown }>();
        if (response.raw === undefined) {
          (response as unknown as { status(code: number): { json(body: unknown): void } })
            .status(exception.getStatus())
            .json(body);
        } else {
          void (response as unknown as FastifyReply).code(exception.getStatus()).send(body);
        }
      }
    }
    decorate(ProblemFilter, [Catch(HttpException)]);
    const { send } = await start(undefined, (app) => {
      app.useGlobalFilters(new ProblemFilter());
    });
    const key = fresh();
    await send("/orders", { key, user: "alice" });
    const conflict = await send("/orders", { key, user: "alice", body: { sku: 2 } });
    expect(conflict.status).toBe(422);
    expect(conflict.headers.get("content-type")).toContain("application/json");
    expect(await conflict.json()).toEqual({
      error: "urn:idempotent:problem:fingerprint-mismatch",
      statusCode: 422,
    });
  });

  it("answers a replay once: the answer Nest makes after the interceptor is dropped", async () => {
    const caught: unknown[] = [];
    class Recorder implements ExceptionFilter {
      catch(exception: unknown, host: ArgumentsHost) {
        caught.push(exception);
        // Express's `res`, or Fastify's `reply` and its `raw`.
        const response = host.switchToHttp().getResponse<Partial<ServerResponse>>();
        const raw = (response as { raw?: Partial<ServerResponse> }).raw ?? response;
        if (raw.headersSent === false) raw.writeHead?.(500).end();
      }
    }
    decorate(Recorder, [Catch()]);
    const { send, runs } = await start(undefined, (app) => {
      app.useGlobalFilters(new Recorder());
    });
    const key = fresh();
    expect((await send("/orders/empty", { key, user: "alice" })).status).toBe(204);
    const retry = await send("/orders/empty", { key, user: "alice" });
    expect(retry.status).toBe(204);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    await delay(50);
    expect(caught).toEqual([]);
    expect(runs()).toBe(1);
  });

  it("takes its options from providers of other modules with forRootAsync", async () => {
    const STORE = Symbol("store");
    const store = new MemoryStore();
    class StoreModule {}
    decorate(StoreModule, [
      Module({ providers: [{ provide: STORE, useValue: store }], exports: [STORE] }),
    ]);
    const { send, runs } = await start([
      IdempotencyModule.forRootAsync<AuthedRequest>({
        imports: [StoreModule],
        inject: [STORE],
        useFactory: async (injected: MemoryStore) => ({ store: injected, scope, required: true }),
      }),
    ]);
    await expectProblem(await send("/orders", { user: "alice" }), 400, "key-required");
    const key = fresh();
    await send("/orders", { key, user: "alice" });
    expect((await send("/orders", { key, user: "alice" })).headers.get("idempotent-replayed")).toBe(
      "true",
    );
    expect(runs()).toBe(1);
    expect(store.size).toBeGreaterThan(0);
  });
});
