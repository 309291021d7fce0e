// idempotent/nestjs as an outside Nest user would write an app: real Nest apps on both
// platforms, real HTTP on loopback; timeouts, filters, streams, pipes, versioning, modules.
import "reflect-metadata";
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Post,
  Redirect,
  RequestTimeoutException,
  Res,
  Scope,
  StreamableFile,
  UseGuards,
  Version,
  VersioningType,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type LoggerService,
  type NestApplicationOptions,
  type NestInterceptor,
  type PipeTransform,
  type Type,
} from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import { catchError, throwError, timeout, TimeoutError } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { Idempotent, IdempotencyModule } from "../../src/http/nestjs/index.ts";
import { InvalidArgumentError } from "../../src/errors/invalid-argument-error.ts";
import { idempotency as expressIdempotency } from "../../src/http/express/index.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { decorate } from "./nest-servers.ts";

type Platform = "express" | "fastify";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fresh = () => `k-${Math.random().toString(36).slice(2)}`;

/** An async guard that puts `{ id }` on request.user from the bearer token. */
class AsyncAuthGuard implements CanActivate {
  async canActivate(context: ExecutionContext): Promise<boolean> {
    await sleep(1);
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      user?: { id: string };
    }>();
    const token = request.headers["authorization"];
    if (token === undefined) return false;
    request.user = { id: token.replace(/^Bearer /, "") };
    return true;
  }
}

class CollectingLogger implements LoggerService {
  readonly errors: unknown[][] = [];
  log() {}
  warn() {}
  debug() {}
  verbose() {}
  error(...args: unknown[]) {
    this.errors.push(args);
  }
}

describe.each(["express", "fastify"] as const)(
  "nest (%s) as users write it",
  (platform: Platform) => {
    let app: INestApplication | undefined;
    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    async function boot(
      controllers: Type[],
      configure?: (app: INestApplication) => void,
      extra: { imports?: unknown[]; providers?: unknown[] } = {},
    ) {
      const store = new MemoryStore();
      const logger = new CollectingLogger();
      class AppModule {}
      decorate(AppModule, [
        Module({
          imports: (extra.imports ?? [
            IdempotencyModule.forRoot<{ headers: Record<string, string>; user?: { id: string } }>({
              store,
              scope: (request) => request.user?.id,
              global: true,
            }),
          ]) as never[],
          controllers,
          providers: (extra.providers ?? []) as never[],
        }),
      ]);
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      const options: NestApplicationOptions = { logger };
      app =
        platform === "express"
          ? await NestFactory.create(AppModule, new ExpressAdapter(), options)
          : await NestFactory.create(AppModule, new FastifyAdapter(), options);
      configure?.(app);
      await app.listen(0, "127.0.0.1");
      const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
      const send = (
        path: string,
        init: { key?: string; body?: unknown; method?: string; raw?: string } = {},
      ) =>
        fetch(`${url}${path}`, {
          method: init.method ?? "POST",
          redirect: "manual",
          headers: {
            "content-type": "application/json",
            authorization: "Bearer alice",
            ...(init.key === undefined ? {} : { "idempotency-key": init.key }),
          },
          ...(init.method === "GET"
            ? {}
            : { body: init.raw ?? JSON.stringify(init.body ?? { sku: 1 }) }),
        });
      return { send, store, logger };
    }

    function controller(
      path: string,
      routes: Record<
        string,
        {
          decorators: MethodDecorator[];
          params?: [number, ParameterDecorator][];
          fn: (...args: never[]) => unknown;
        }
      >,
      classDecorators: ClassDecorator[] = [],
    ): Type {
      class C {}
      for (const [name, route] of Object.entries(routes)) {
        Object.defineProperty(C.prototype, name, { value: route.fn, writable: true });
        decorate(C, route.decorators, name, route.params ?? []);
      }
      decorate(C, [Controller(path), UseGuards(AsyncAuthGuard), Idempotent(), ...classDecorators]);
      return C;
    }

    it("a retry replays, the handler ran once; a concurrent duplicate gets 409 while in flight", async () => {
      let runs = 0;
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      const C = controller("o", {
        slow: {
          decorators: [Post()],
          fn: async () => {
            runs += 1;
            await gate;
            return { runs };
          },
        },
      });
      const { send } = await boot([C]);
      const key = fresh();
      const first = send("/o", { key });
      await sleep(100);
      const dup = await send("/o", { key });
      expect(dup.status).toBe(409);
      expect(dup.headers.get("retry-after")).not.toBeNull();
      open();
      expect((await first).status).toBe(201);
      const retry = await send("/o", { key });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(await retry.json()).toEqual({ runs: 1 });
      expect(runs).toBe(1);
    });

    it("HttpException 4xx is cached, a thrown Error (500) is released and runs again", async () => {
      let runs = 0;
      const C = controller("e", {
        bad: {
          decorators: [Post("bad")],
          fn: () => {
            runs += 1;
            throw new BadRequestException("nope");
          },
        },
        boom: {
          decorators: [Post("boom")],
          fn: () => {
            runs += 1;
            throw new Error("boom");
          },
        },
      });
      const { send } = await boot([C]);
      const key = fresh();
      expect((await send("/e/bad", { key })).status).toBe(400);
      const again = await send("/e/bad", { key });
      expect(again.status).toBe(400);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      const key2 = fresh();
      expect((await send("/e/boom", { key: key2 })).status).toBe(500);
      expect((await send("/e/boom", { key: key2 })).status).toBe(500);
      expect(runs).toBe(3);
    });

    it("replays a @Redirect() route without Nest answering a second time", async () => {
      let runs = 0;
      const C = controller("r", {
        go: {
          decorators: [Post(), Redirect("https://example.com/done", 303)],
          fn: () => {
            runs += 1;
          },
        },
      });
      const { send, logger } = await boot([C]);
      const key = fresh();
      const first = await send("/r", { key });
      expect(first.status).toBe(303);
      const retry = await send("/r", { key });
      expect(retry.status).toBe(303);
      expect(retry.headers.get("location")).toBe("https://example.com/done");
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      await sleep(50);
      expect(runs).toBe(1);
      expect(logger.errors.map((e) => String(e[0]))).toEqual([]);
    });

    it("StreamableFile and @Res({ passthrough: true }) responses replay byte for byte", async () => {
      let runs = 0;
      const C = controller("s", {
        file: {
          decorators: [Post("file")],
          fn: () => {
            runs += 1;
            return new StreamableFile(Buffer.from(`file ${runs}`), { type: "text/plain" });
          },
        },
        pass: {
          decorators: [Post("pass")],
          params: [[0, Res({ passthrough: true })]],
          fn: (response: never) => {
            runs += 1;
            const r = response as {
              header?: (n: string, v: string) => void;
              setHeader?: (n: string, v: string) => void;
            };
            if (r.setHeader !== undefined) r.setHeader("x-pass", String(runs));
            else r.header?.("x-pass", String(runs));
            return { runs };
          },
        },
      });
      const { send } = await boot([C]);
      for (const path of ["/s/file", "/s/pass"]) {
        const key = fresh();
        const first = await send(path, { key });
        const body = await first.text();
        const retry = await send(path, { key });
        expect(retry.headers.get("idempotent-replayed")).toBe("true");
        expect(await retry.text()).toBe(body);
        expect(retry.headers.get("content-type")).toBe(first.headers.get("content-type"));
        expect(retry.headers.get("x-pass")).toBe(first.headers.get("x-pass"));
      }
      expect(runs).toBe(2);
    });

    it("a global pipe rejecting the body caches its 400; the corrected body under that key is a 422", async () => {
      let runs = 0;
      class RejectingPipe implements PipeTransform {
        transform(value: unknown) {
          if (typeof value === "object" && value !== null && "sku" in value) return value;
          if (typeof value === "object" && value !== null)
            throw new BadRequestException("sku is required");
          return value;
        }
      }
      const C = controller("v", {
        create: {
          decorators: [Post()],
          params: [[0, Body()]],
          fn: (body: never) => {
            runs += 1;
            return body;
          },
        },
      });
      const { send } = await boot([C], (a) => a.useGlobalPipes(new RejectingPipe()));
      const key = fresh();
      expect((await send("/v", { key, body: { nope: 1 } })).status).toBe(400);
      const fixed = await send("/v", { key, body: { sku: 1 } });
      expect(runs).toBe(0);
      // Stripe: "results are only saved if an API endpoint started executing". Here: 422.
      expect(fixed.status).toBe(422);
    });

    it("an outer timeout() answering first leaves the claim in flight: the handler never runs twice at once", async () => {
      let runs = 0;
      let running = 0;
      let overlap = 0;
      class TimeoutInterceptor implements NestInterceptor {
        intercept(_context: ExecutionContext, next: CallHandler) {
          return next.handle().pipe(timeout(100));
        }
      }
      const C = controller("t", {
        slow: {
          decorators: [Post()],
          fn: async () => {
            runs += 1;
            running += 1;
            overlap = Math.max(overlap, running);
            await sleep(600);
            running -= 1;
            return { runs };
          },
        },
      });
      const { send } = await boot([C], (a) => a.useGlobalInterceptors(new TimeoutInterceptor()));
      const key = fresh();
      expect((await send("/t", { key })).status).toBe(500); // rxjs TimeoutError through Nest's filter
      const retry = await send("/t", { key }); // the first handler is still running
      await sleep(800);
      expect({ retry: retry.status, overlap, runs }).toEqual({ retry: 409, overlap: 1, runs: 1 });
    });

    it("an outer TimeoutInterceptor's 408 is not stored as the answer of a handler that went on to succeed", async () => {
      let runs = 0;
      class TimeoutInterceptor implements NestInterceptor {
        intercept(_context: ExecutionContext, next: CallHandler) {
          return next.handle().pipe(
            timeout(100),
            catchError((error: unknown) =>
              throwError(() =>
                error instanceof TimeoutError ? new RequestTimeoutException() : error,
              ),
            ),
          );
        }
      }
      const C = controller("t408", {
        slow: {
          decorators: [Post()],
          fn: async () => {
            await sleep(300);
            runs += 1; // the side effect happens
            return { charged: true };
          },
        },
      });
      const { send } = await boot([C], (a) => a.useGlobalInterceptors(new TimeoutInterceptor()));
      const key = fresh();
      expect((await send("/t408", { key })).status).toBe(408);
      await sleep(500);
      const retry = await send("/t408", { key });
      // The client is told "timed out" forever for an order that was charged.
      expect({ runs, retry: retry.status }).not.toEqual({ runs: 1, retry: 408 });
    });

    it("request-scoped controllers, a global prefix and URI versioning", async () => {
      let runs = 0;
      class PerRequest {
        readonly id = Math.random();
      }
      decorate(PerRequest, [Injectable({ scope: Scope.REQUEST })]);
      class C {
        readonly per: PerRequest;
        constructor(per: PerRequest) {
          this.per = per;
        }
        create() {
          runs += 1;
          return { runs };
        }
      }
      Inject(PerRequest)(C, undefined, 0);
      decorate(C, [Post(), Version("1")], "create");
      decorate(C, [Controller("rs"), UseGuards(AsyncAuthGuard), Idempotent()]);
      const { send } = await boot(
        [C],
        (a) => {
          a.setGlobalPrefix("api");
          a.enableVersioning({ type: VersioningType.URI });
        },
        { providers: [PerRequest] },
      );
      const key = fresh();
      expect((await send("/api/v1/rs", { key })).status).toBe(201);
      const retry = await send("/api/v1/rs", { key });
      expect(retry.headers.get("idempotent-replayed")).toBe("true");
      expect(runs).toBe(1);
    });

    it("malformed key 400, required key 400, body over maxRequestBytes 413, GET not guarded", async () => {
      let runs = 0;
      const C = controller("k", {
        req: {
          decorators: [Post("req"), Idempotent({ required: true, maxRequestBytes: 1000 })],
          fn: () => ({ runs: ++runs }),
        },
        get: { decorators: [Get("get")], fn: () => ({ runs: ++runs }) },
      });
      const { send } = await boot([C]);
      expect((await send("/k/req", { key: "" })).status).toBe(400);
      expect((await send("/k/req", { key: "a b" })).status).toBe(400);
      expect((await send("/k/req")).status).toBe(400);
      expect((await send("/k/req", { key: fresh(), body: { pad: "x".repeat(5000) } })).status).toBe(
        413,
      );
      const key = fresh();
      await send("/k/get", { key, method: "GET" });
      const get = await send("/k/get", { key, method: "GET" });
      expect(get.headers.get("idempotent-replayed")).toBeNull();
      expect(runs).toBe(2);
    });

    it("two feature modules importing forRoot with their own stores use their own", async () => {
      const storeA = new MemoryStore();
      const storeB = new MemoryStore();
      const scope = "global" as const;
      const A = controller("a", { x: { decorators: [Post()], fn: () => ({ a: 1 }) } });
      const B = controller("b", { x: { decorators: [Post()], fn: () => ({ b: 1 }) } });
      class ModA {}
      decorate(ModA, [
        Module({
          imports: [IdempotencyModule.forRoot({ store: storeA, scope })],
          controllers: [A],
        }),
      ]);
      class ModB {}
      decorate(ModB, [
        Module({
          imports: [IdempotencyModule.forRoot({ store: storeB, scope })],
          controllers: [B],
        }),
      ]);
      const { send } = await boot([], undefined, { imports: [ModA, ModB] });
      await send("/a", { key: fresh() });
      expect([storeA.size, storeB.size]).toEqual([1, 0]);
      await send("/b", { key: fresh() });
      expect([storeA.size, storeB.size]).toEqual([1, 1]);
      await app?.close();
      app = undefined;
      expect(storeA.size).toBe(1); // app.close() closed nothing it does not own
    });
  },
);

describe("options out of range", () => {
  const store = new MemoryStore();
  const refused = (make: () => unknown, argument: string) => {
    expect(make).toThrow(InvalidArgumentError);
    expect(make).toThrow(expect.objectContaining({ argument }) as Error);
  };

  it("fail where they are written, at startup, not at each request", async () => {
    refused(() => Idempotent({ leaseTtlMs: -5 }), "leaseTtlMs");
    refused(() => Idempotent({ retentionTtlMs: 0 }), "retentionTtlMs");
    refused(() => Idempotent({ maxRequestBytes: 1.5 }), "maxRequestBytes");
    refused(
      () => IdempotencyModule.forRoot({ store, scope: "global", leaseTtlMs: 2 ** 31 }),
      "leaseTtlMs",
    );
    refused(() => expressIdempotency({ store, scope: "global", leaseTtlMs: -1 }), "leaseTtlMs");
    // forRootAsync learns its options when the app starts: that start fails.
    const made = IdempotencyModule.forRootAsync({
      useFactory: () => ({ store, scope: "global", retentionTtlMs: -1 }),
    });
    const provider = (made.providers ?? []).find(
      (each) => typeof each === "object" && "useFactory" in each,
    ) as { useFactory: () => Promise<unknown> } | undefined;
    await expect(provider?.useFactory()).rejects.toThrow(InvalidArgumentError);
    expect(Idempotent({ leaseTtlMs: 1000, retentionTtlMs: 60_000 })).toBeTypeOf("function");
  });
});
