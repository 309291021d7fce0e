// What the three framework examples share: the store choice and the order side effect.
import type { IdempotencyStore } from "../src/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";

/** The side effect: creating an order. `runs` counts how often it really ran. */
export interface OrderService {
  readonly runs: () => number;
  create(input: unknown): Promise<{ id: string; input: unknown }>;
}

export function orderService(): OrderService {
  let runs = 0;
  return {
    runs: () => runs,
    async create(input) {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 100)); // the payment provider
      return { id: `order-${runs}`, input };
    },
  };
}

/** The Valkey/Redis store when REDIS_URL is set, the memory store otherwise. */
export async function storeFromEnvironment(): Promise<IdempotencyStore> {
  const url = process.env["REDIS_URL"];
  if (url === undefined) return new MemoryStore();
  const [{ Redis }, { ValkeyStore }] = await Promise.all([
    import("ioredis"),
    import("../src/stores/valkey/index.ts"),
  ]);
  // As the README recommends: fail fast while disconnected, log client errors.
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  client.on("error", (error) => {
    console.warn("valkey:", error.message);
  });
  await client.connect();
  return new ValkeyStore({ client, prefix: "orders-example" });
}

/**
 * An RFC 9457 problem body, as the examples answer their own errors: no stack traces, no
 * internals, the same shape as the idempotency layer's problems.
 */
export interface Problem {
  readonly status: number;
  readonly type: string;
  readonly title: string;
}

export function problem(status: number, title: string): Problem {
  return { status, type: "about:blank", title };
}

/** The examples' own answers: a missing API key, a body that is not JSON, anything else. */
export const problems: Readonly<Record<"unauthorized" | "malformedJson" | "internal", Problem>> = {
  unauthorized: problem(401, "Send your API key in the X-Api-Key header"),
  malformedJson: problem(400, "The request body is not valid JSON"),
  internal: problem(500, "Internal server error"),
};

export const problemType = "application/problem+json";
