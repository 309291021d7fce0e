// Drives the Express example over real HTTP and prints what each request got.
import type { AddressInfo } from "node:net";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { createExpressApp } from "./express.ts";

const server = createExpressApp(new MemoryStore()).listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function post(label: string, key: string | undefined, body: unknown): Promise<void> {
  const response = await fetch(`${base}/orders`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-api-key": "demo-client",
      ...(key === undefined ? {} : { "idempotency-key": key }),
    },
    body: JSON.stringify(body),
  });
  const replayed =
    response.headers.get("idempotent-replayed") === "true" ? " (Idempotent-Replayed)" : "";
  const retryAfter = response.headers.get("retry-after");
  const text = await response.text();
  console.log(
    `${label}\n   -> ${response.status}${replayed}${retryAfter === null ? "" : ` Retry-After: ${retryAfter}`} ${text}`,
  );
}

console.log(`== idempotent demo: POST /orders on Express, ${base} ==\n`);
await post("1. POST /orders, Idempotency-Key: order-7 (executed)", '"order-7"', { sku: 42 });
await post("2. the same request again (replayed, the handler does not run)", '"order-7"', {
  sku: 42,
});
await Promise.all([
  post("3a. a new key, first of two concurrent requests (executed)", "order-8", { sku: 1 }),
  new Promise((resolve) => setTimeout(resolve, 20)).then(() =>
    post("3b. the same key while 3a runs (409 in flight)", "order-8", { sku: 1 }),
  ),
]);
await post("4. key order-7 reused with another body (422 mismatch)", '"order-7"', { sku: 99 });
await post("5. an invalid key: an unterminated quoted string (400)", '"order-9', { sku: 42 });
const stats = (await (await fetch(`${base}/stats`)).json()) as { orderHandlerRuns: number };
console.log(`\nThe order handler ran ${stats.orderHandlerRuns} times for 6 requests.`);
server.close();
