export { idempotency } from "./hono-idempotency.ts";
