import type { CallHandler, ExecutionContext, NestInterceptor } from "@nestjs/common";
import { Inject, Injectable } from "@nestjs/common";
import { type Observable, of, tap } from "rxjs";
import type { CachedResponse } from "../../core/cached-response.ts";
import { completeOnEnd } from "../complete-on-end.ts";
import { HttpIdempotency, replayedHeader } from "../http-idempotency.ts";
import { attachClaim } from "../request-claim.ts";
import { IdempotencyProblemException, type Problem } from "./idempotency-problem-exception.ts";
import { IDEMPOTENT_METADATA } from "./idempotent-metadata.ts";
import { nestExchange, type NestExchange } from "./nest-exchange.ts";
import {
  IDEMPOTENCY_OPTIONS,
  type IdempotentOptions,
  type NestIdempotencyOptions,
} from "./nest-idempotency-options.ts";

type Layer = HttpIdempotency<[request: never, context: ExecutionContext]>;

/** `Reflect.getMetadata`, which reflect-metadata (loaded by every Nest app) adds. */
function metadataOf(target: object): IdempotentOptions | undefined {
  const reflect = Reflect as { getMetadata?: (key: string, target: object) => unknown };
  return reflect.getMetadata?.(IDEMPOTENT_METADATA, target) as IdempotentOptions | undefined;
}

const decoder = new TextDecoder();
/** The requests an interceptor already took. */
const seen = new WeakSet<object>();

/**
 * The interceptor behind `@Idempotent()`; it guards only the routes marked so, and runs after
 * Nest's guards, so `scope` sees `request.user`. Nest makes one per module that uses it, with
 * the options of `IdempotencyModule`.
 *
 * @example
 * ```ts
 * @UseInterceptors(IdempotencyInterceptor) // what @Idempotent() adds, with its options
 * class OrdersController {}
 * ```
 */
export class IdempotencyInterceptor implements NestInterceptor {
  readonly #options: NestIdempotencyOptions;
  /** One HTTP layer per route, with its merged options; `null` for routes not marked. */
  readonly #layers = new WeakMap<object, WeakMap<object, Layer | null>>();

  constructor(options: NestIdempotencyOptions) {
    this.#options = options;
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.getType() === "http" ? this.#layerOf(context) : null;
    if (http === null) return next.handle();
    const request = context.switchToHttp().getRequest<object>();
    // @Idempotent() on a controller and on its route adds the interceptor twice: once is enough.
    if (seen.has(request)) return next.handle();
    seen.add(request);
    const exchange = nestExchange(request, context.switchToHttp().getResponse<object>());
    if (!http.applies(exchange.view.method)) return next.handle();
    const decision = await http.begin(exchange.view, request as never, context);
    switch (decision.kind) {
      case "pass":
        return next.handle();
      case "respond":
        if (!isReplay(decision.response)) throw problemException(decision.response, exchange);
        exchange.replay(decision.response);
        return of(undefined);
      case "run": {
        attachClaim(request, decision.exchange);
        // An outer interceptor that gives up on the handler (a timeout) unsubscribes before
        // the handler settles, and Nest then answers with an error while the handler still
        // runs: that answer says nothing of the handler's outcome.
        let orphaned = false;
        let settled = false;
        const settle = () => {
          settled = true;
        };
        completeOnEnd(
          exchange.raw,
          decision.exchange,
          http.policy.maxResponseBytes,
          () => !orphaned,
        );
        return next.handle().pipe(
          tap({
            complete: settle,
            error: settle,
            unsubscribe: () => {
              if (!settled) orphaned = true;
            },
          }),
        );
      }
    }
  }

  #layerOf(context: ExecutionContext): Layer | null {
    // By controller, then handler: an inherited handler may have another controller's options.
    const controller = context.getClass();
    const handler = context.getHandler();
    let layers = this.#layers.get(controller);
    if (layers === undefined) this.#layers.set(controller, (layers = new WeakMap()));
    let layer = layers.get(handler);
    if (layer === undefined) {
      const forClass = metadataOf(controller);
      const forRoute = metadataOf(handler);
      layer =
        forClass === undefined && forRoute === undefined
          ? null
          : new HttpIdempotency({ ...this.#options, ...forClass, ...forRoute });
      layers.set(handler, layer);
    }
    return layer;
  }
}

Injectable()(IdempotencyInterceptor);
Inject(IDEMPOTENCY_OPTIONS)(IdempotencyInterceptor, undefined, 0);

function isReplay(response: CachedResponse): boolean {
  return response.headers.some(([name]) => name === replayedHeader);
}

/** The layer's own answer as an exception, its headers (`Retry-After`) set on the response. */
function problemException(response: CachedResponse, exchange: NestExchange) {
  let contentType = "application/problem+json";
  for (const [name, value] of response.headers) {
    if (name === "content-type") contentType = value;
    else exchange.setHeader(name, value);
  }
  const problem = JSON.parse(decoder.decode(response.body)) as Problem;
  return new IdempotencyProblemException(problem, () => {
    exchange.setHeader("content-type", contentType);
  });
}
