import { applyDecorators, SetMetadata, UseInterceptors } from "@nestjs/common";
import { checkHttpOptions } from "../http-options.ts";
import { IdempotencyInterceptor } from "./idempotency-interceptor.ts";
import { IDEMPOTENT_METADATA } from "./idempotent-metadata.ts";
import type { IdempotentOptions, NestRequestLike } from "./nest-idempotency-options.ts";

/**
 * Guards a route, or every route of a controller: the first request with a key runs the
 * handler, retries get the stored response with `Idempotent-Replayed: true`, conflicts get
 * RFC 9457 problems (thrown as {@link IdempotencyProblemException}, so exception filters stay
 * in charge of their bodies). Needs `IdempotencyModule.forRoot()` imported by the
 * controller's module, or global. `options` override the module's for these routes.
 *
 * @example
 * ```ts
 * class OrdersController {
 *   @Post()
 *   @Idempotent({ required: true, retentionTtlMs: 60 * 60_000 })
 *   create(@Body() order: CreateOrder) { return this.orders.create(order); }
 * }
 * ```
 */
export function Idempotent<TRequest extends NestRequestLike = NestRequestLike>(
  options: IdempotentOptions<TRequest> = {},
): MethodDecorator & ClassDecorator {
  // Checked where it is written: a bad value fails when the class is defined.
  checkHttpOptions(options);
  return applyDecorators(
    SetMetadata(IDEMPOTENT_METADATA, options),
    UseInterceptors(IdempotencyInterceptor),
  );
}
