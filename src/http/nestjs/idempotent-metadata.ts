/**
 * The metadata key under which `@Idempotent()` keeps a route's or controller's options.
 *
 * @example
 * ```ts
 * Reflect.getMetadata(IDEMPOTENT_METADATA, OrdersController.prototype.create);
 * ```
 */
export const IDEMPOTENT_METADATA = "idempotent:route";
