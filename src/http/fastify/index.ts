export { idempotency } from "./fastify-idempotency.ts";
