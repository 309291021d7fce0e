import type { DynamicModule, InjectionToken, ModuleMetadata } from "@nestjs/common";
import { Module } from "@nestjs/common";
import { resolveHttpPolicy } from "../http-options.ts";
import { IdempotencyInterceptor } from "./idempotency-interceptor.ts";
import {
  IDEMPOTENCY_OPTIONS,
  type NestIdempotencyOptions,
  type NestRequestLike,
} from "./nest-idempotency-options.ts";

/**
 * Options of {@link IdempotencyModule.forRootAsync}: a factory for the options, with the
 * providers it needs (`inject`) and the modules that export them (`imports`).
 *
 * @example
 * ```ts
 * const options: IdempotencyModuleAsyncOptions = {
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ store: storeFor(config), scope: "global" }),
 * };
 * ```
 */
export interface IdempotencyModuleAsyncOptions<TRequest extends NestRequestLike = NestRequestLike> {
  readonly useFactory: (
    ...providers: never[]
  ) => NestIdempotencyOptions<TRequest> | Promise<NestIdempotencyOptions<TRequest>>;
  readonly inject?: readonly InjectionToken[];
  readonly imports?: ModuleMetadata["imports"];
  /** Make the module global, so every module's `@Idempotent()` routes find it; false by default. */
  readonly global?: boolean;
}

/**
 * The module that gives `@Idempotent()` routes their store and options. Import it once with
 * `global: true`, or in each module whose controllers use `@Idempotent()`. It exports the
 * options (under {@link IDEMPOTENCY_OPTIONS}) and the interceptor.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [
 *     IdempotencyModule.forRoot<AuthedRequest>({
 *       store: new MemoryStore(),
 *       scope: (request) => request.user?.id,
 *       global: true,
 *     }),
 *   ],
 *   controllers: [OrdersController],
 * })
 * class AppModule {}
 * ```
 */
export class IdempotencyModule {
  /** The module with these options; `global: true` makes it visible to every module. */
  static forRoot<TRequest extends NestRequestLike = NestRequestLike>(
    options: NestIdempotencyOptions<TRequest> & { readonly global?: boolean },
  ): DynamicModule {
    const { global = false, ...rest } = options;
    // Checked now: a bad option fails the app's startup, not each request.
    resolveHttpPolicy(rest);
    return moduleWith({ provide: IDEMPOTENCY_OPTIONS, useValue: rest }, global, []);
  }

  /** The module with options a factory makes from other providers (configuration, say). */
  static forRootAsync<TRequest extends NestRequestLike = NestRequestLike>(
    options: IdempotencyModuleAsyncOptions<TRequest>,
  ): DynamicModule {
    return moduleWith(
      {
        provide: IDEMPOTENCY_OPTIONS,
        useFactory: async (...args: unknown[]) => {
          const made = await (options.useFactory as (...args: unknown[]) => unknown)(...args);
          resolveHttpPolicy(made as NestIdempotencyOptions);
          return made;
        },
        inject: [...(options.inject ?? [])],
      },
      options.global ?? false,
      options.imports ?? [],
    );
  }
}

Module({})(IdempotencyModule);

function moduleWith(
  provider: NonNullable<ModuleMetadata["providers"]>[number],
  global: boolean,
  imports: NonNullable<ModuleMetadata["imports"]>,
): DynamicModule {
  return {
    module: IdempotencyModule,
    global,
    imports,
    providers: [provider, IdempotencyInterceptor],
    exports: [IDEMPOTENCY_OPTIONS, IdempotencyInterceptor],
  };
}
