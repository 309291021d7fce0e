import type { ExecutionContext } from "@nestjs/common";
import type { HttpIdempotencyOptions } from "../http-options.ts";

/**
 * The request as a Nest route sees it: Express's `req` on `@nestjs/platform-express`,
 * Fastify's `request` on `@nestjs/platform-fastify`, with whatever guards put there
 * (`user`, say). Give your own type to `IdempotencyModule.forRoot<TRequest>` for a typed `scope`.
 *
 * @example
 * ```ts
 * interface AuthedRequest extends NestRequestLike { user?: { id: string } }
 * ```
 */
export interface NestRequestLike {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly method?: string;
  readonly url?: string;
}

/**
 * Options of `IdempotencyModule.forRoot`: the HTTP layer's options, shared by every adapter;
 * `scope` gets the request (after the guards ran, so `request.user` is there) and Nest's
 * `ExecutionContext`.
 *
 * @example
 * ```ts
 * const options: NestIdempotencyOptions<AuthedRequest> = {
 *   store: new MemoryStore(),
 *   scope: (request) => request.user?.id,
 * };
 * ```
 */
export type NestIdempotencyOptions<TRequest extends NestRequestLike = NestRequestLike> =
  HttpIdempotencyOptions<[request: TRequest, context: ExecutionContext]>;

/**
 * What `@Idempotent()` may change for one route or controller: any option but the store
 * (per-route TTLs, `required`, `fingerprintHeaders`, `scope`…). A route's own options win
 * over its controller's, which win over the module's.
 *
 * @example
 * ```ts
 * const options: IdempotentOptions = { required: true, retentionTtlMs: 60 * 60_000 };
 * ```
 */
export type IdempotentOptions<TRequest extends NestRequestLike = NestRequestLike> = Partial<
  Omit<NestIdempotencyOptions<TRequest>, "store">
>;

/**
 * The injection token of the module's options, e.g. to read the store in a provider of
 * your own.
 *
 * @example
 * ```ts
 * constructor(@Inject(IDEMPOTENCY_OPTIONS) options: NestIdempotencyOptions) {}
 * ```
 */
export const IDEMPOTENCY_OPTIONS: unique symbol = Symbol("idempotent:nestjs-options");
