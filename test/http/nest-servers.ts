// Nest applications for the shared HTTP suite, on the Express and the Fastify platforms: one
// catch-all controller marked @Idempotent(), a guard that puts the caller (the x-tenant
// header) on `request.user` as Nest authentication would, and raw body parsing as the other
// adapters' suite servers have. Decorators are applied as functions, without decorator syntax.
import "reflect-metadata";
import { Readable } from "node:stream";
import {
  Controller,
  Get,
  Patch,
  Post,
  Module,
  Req,
  Res,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
  type INestApplication,
  type NestApplicationOptions,
  type Type,
} from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ExpressAdapter } from "@nestjs/platform-express";
import { FastifyAdapter, type NestFastifyApplication } from "@nestjs/platform-fastify";
import fastifyCors from "@fastify/cors";
import fastifyHelmet from "@fastify/helmet";
import express from "express";
import helmet from "helmet";
import type { FastifyReply } from "fastify";
import type { ServerResponse } from "node:http";
import { Idempotent, idempotencyOf, IdempotencyModule } from "../../src/http/nestjs/index.ts";
import type { StartedServer } from "../servers/listen.ts";
import type { RouteResponse, SuiteRoutes } from "./http-behaviour-suite.ts";
import type { StartAdapter, SuiteOptions } from "./start-servers.ts";

/** Applies decorators to a class, or to one of its methods, as decorator syntax would. */
export function decorate(
  target: Type,
  decorators: readonly (ClassDecorator | MethodDecorator)[],
  method?: string,
  parameters: readonly (readonly [index: number, decorator: ParameterDecorator])[] = [],
): void {
  if (method === undefined) {
    Reflect.decorate(decorators as ClassDecorator[], target);
    return;
  }
  const prototype = target.prototype as object;
  for (const [index, decorator] of parameters) decorator(prototype, method, index);
  const descriptor = Object.getOwnPropertyDescriptor(prototype, method);
  Reflect.decorate(decorators as MethodDecorator[], prototype, method, descriptor);
}

/** Puts the x-tenant header on `request.user`, as an authentication guard would. */
export class TenantGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{
      headers: Record<string, string | undefined>;
      user?: string | undefined;
    }>();
    request.user = request.headers["x-tenant"];
    return true;
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The suite's options as the module's: `scope` reads the guard's `request.user`. */
export function suiteModule(options: SuiteOptions): DynamicModule {
  return IdempotencyModule.forRoot<{ headers: Record<string, string>; user?: string }>({
    ...options,
    scope:
      options.scope ??
      (async (request) => {
        await tick();
        return request.user;
      }),
    global: true,
  });
}

type Platform = "express" | "fastify";

async function sendRoute(platform: Platform, response: unknown, result: RouteResponse) {
  const payload = typeof result.body === "string" ? result.body : Buffer.from(result.body);
  if (platform === "fastify") {
    const reply = response as FastifyReply;
    void reply.code(result.status).headers(result.headers);
    return reply.send(result.stream === true ? Readable.from([payload]) : payload);
  }
  const raw = response as ServerResponse;
  raw.statusCode = result.status;
  for (const [name, value] of Object.entries(result.headers)) raw.setHeader(name, value);
  if (result.stream === true) Readable.from([payload]).pipe(raw);
  else raw.end(payload);
  return undefined;
}

/** Express's `req` or Fastify's `request`. */
interface SuiteRequest {
  readonly method: string;
  readonly url: string;
  readonly originalUrl?: string;
  readonly body?: unknown;
}

function suiteController(platform: Platform, routes: SuiteRoutes): Type {
  class SuiteController {
    async handle(request: SuiteRequest, response: unknown) {
      const body: unknown = request.body;
      const result = await routes.handle(
        request.method,
        request.originalUrl ?? request.url,
        body instanceof Uint8Array ? body : new Uint8Array(0),
        idempotencyOf(request) !== undefined,
      );
      return sendRoute(platform, response, result);
    }
  }
  decorate(SuiteController, [Controller(), UseGuards(TenantGuard), Idempotent()]);
  // GET, POST and PATCH rather than all methods: @fastify/cors declares OPTIONS on every path.
  const path = platform === "fastify" ? "*" : "*path";
  for (const [method, mapping] of [
    ["get", Get],
    ["post", Post],
    ["patch", Patch],
  ] as const) {
    // One function per route: Nest keeps a route's metadata on its function.
    Object.defineProperty(SuiteController.prototype, method, {
      value(this: SuiteController, ...args: Parameters<SuiteController["handle"]>) {
        return this.handle(...args);
      },
    });
    decorate(SuiteController, [mapping(path)], method, [
      [0, Req()],
      [1, Res()],
    ]);
  }
  return SuiteController;
}

/** Starts a Nest application with `modules` and `controllers` on a free loopback port. */
export async function startNest(
  platform: Platform,
  metadata: { imports: DynamicModule[]; controllers: Type[]; providers?: unknown[] },
  configure?: (app: INestApplication) => Promise<void> | void,
): Promise<StartedServer> {
  // The suite's servers parse bodies themselves (raw), as the other adapters' do.
  // Nest declares its options as a class (exported as a type only); a literal is what it takes.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  const options: NestApplicationOptions = { logger: false, bodyParser: configure === undefined };
  class AppModule {}
  decorate(AppModule, [Module(metadata as Parameters<typeof Module>[0])]);
  const app =
    platform === "express"
      ? await NestFactory.create(AppModule, new ExpressAdapter(), options)
      : await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), options);
  await configure?.(app);
  await app.listen(0, "127.0.0.1");
  return { url: (await app.getUrl()).replace("[::1]", "127.0.0.1"), close: () => app.close() };
}

function startSuiteApp(platform: Platform): StartAdapter {
  return (options, routes) =>
    startNest(
      platform,
      { imports: [suiteModule(options)], controllers: [suiteController(platform, routes)] },
      async (app) => {
        if (platform === "express") {
          if (options.headerMiddleware === true) app.use(helmet());
          if (options.headerMiddleware === true) app.enableCors();
          app.use(express.raw({ type: () => true, limit: "1mb" }));
          return;
        }
        const fastify = app as NestFastifyApplication;
        if (options.headerMiddleware === true) {
          await fastify.register(fastifyCors);
          await fastify.register(fastifyHelmet);
        }
        const instance = fastify.getHttpAdapter().getInstance();
        instance.removeAllContentTypeParsers();
        instance.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => {
          done(null, body);
        });
      },
    );
}

export const startNestExpress: StartAdapter = startSuiteApp("express");
export const startNestFastify: StartAdapter = startSuiteApp("fastify");
