import { describe, expect, it } from "vitest";
import { IdempotencyConflictError } from "../../src/errors/idempotency-conflict-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { idempotent } from "../../src/execution/idempotent-function.ts";

interface OrderEvent {
  readonly id: string;
  readonly sentAt: string;
  readonly order: { readonly sku: string; readonly amount: number };
}

interface Order {
  readonly number: number;
  readonly amount: number;
  readonly createdAt: string;
}

const event = (overrides: Partial<OrderEvent> = {}): OrderEvent => ({
  id: "evt_1",
  sentAt: new Date().toISOString(),
  order: { sku: "A-1", amount: 4200 },
  ...overrides,
});

function setup() {
  let runs = 0;
  const idempotency = new Idempotency({ store: new MemoryStore() });
  const createOrder = async (input: OrderEvent): Promise<Order> => {
    runs++;
    await delay(20);
    return { number: runs, amount: input.order.amount, createdAt: new Date(0).toISOString() };
  };
  const createOrderOnce = idempotent(createOrder, {
    idempotency,
    operation: "create-order",
    key: (input) => input.id,
    fingerprint: (input) => input.order,
  });
  return { idempotency, createOrderOnce, runs: () => runs };
}

describe("idempotent()", () => {
  it("runs once per key and returns the same result, typed, to every redelivery", async () => {
    const { createOrderOnce, runs } = setup();
    const first = await createOrderOnce.withOutcome(event());
    const again = await createOrderOnce.withOutcome(event());
    expect(first).toEqual({
      kind: "executed",
      result: { number: 1, amount: 4200, createdAt: new Date(0).toISOString() },
    });
    expect(again).toEqual({ kind: "replayed", result: first.result });
    expect(await createOrderOnce(event())).toEqual(first.result);
    expect(runs()).toBe(1);
  });

  it("ignores fields left out of the fingerprint, and catches a changed field", async () => {
    const { createOrderOnce, runs } = setup();
    await createOrderOnce(event({ sentAt: "2026-01-01T00:00:00Z" }));
    expect(
      (await createOrderOnce.withOutcome(event({ sentAt: "2026-06-01T00:00:00Z" }))).kind,
    ).toBe("replayed");
    const changed = await createOrderOnce(event({ order: { sku: "A-1", amount: 9999 } })).catch(
      (error: unknown) => error,
    );
    expect(changed).toBeInstanceOf(IdempotencyConflictError);
    expect((changed as IdempotencyConflictError).reason).toBe("fingerprint-mismatch");
    expect(runs()).toBe(1);
  });

  it("compares fingerprints as canonical JSON: key order does not matter", async () => {
    const { createOrderOnce, runs } = setup();
    await createOrderOnce(event());
    const reordered = { ...event(), order: { amount: 4200, sku: "A-1" } };
    expect((await createOrderOnce.withOutcome(reordered)).kind).toBe("replayed");
    expect(runs()).toBe(1);
  });

  it("answers a concurrent call with an in-flight conflict, or waits when told", async () => {
    const { idempotency, createOrderOnce, runs } = setup();
    const first = createOrderOnce(event());
    const busy = await createOrderOnce(event()).catch((error: unknown) => error);
    expect(busy).toBeInstanceOf(IdempotencyConflictError);
    expect((busy as IdempotencyConflictError).reason).toBe("in-flight");
    expect((busy as IdempotencyConflictError).retryAfterMs).toBeGreaterThan(0);
    await first;
    const patient = idempotent(async (id: string) => ({ id, at: Date.now() }), {
      idempotency,
      operation: "patient",
      key: (id) => id,
      waitMs: 2000,
    });
    const [a, b] = await Promise.all([patient("p"), patient("p")]);
    expect(b).toEqual(a);
    expect(runs()).toBe(1);
  });

  it("releases the key when the function throws, so a retry runs again", async () => {
    const idempotency = new Idempotency({ store: new MemoryStore() });
    let attempts = 0;
    const flaky = idempotent(
      async (id: string) => {
        attempts++;
        if (attempts === 1) throw new Error("downstream unavailable");
        return `done ${id}`;
      },
      { idempotency, operation: "flaky", key: (id) => id },
    );
    await expect(flaky("x")).rejects.toThrow("downstream unavailable");
    expect(await flaky("x")).toBe("done x");
    expect(attempts).toBe(2);
  });

  it("keeps functions apart, takes any key text, and keeps undefined results", async () => {
    const idempotency = new Idempotency({ store: new MemoryStore() });
    const calls: string[] = [];
    const a = idempotent(
      async (id: string): Promise<string | undefined> => {
        calls.push(`a ${id}`);
        return undefined;
      },
      {
        idempotency,
        operation: "a",
        key: (id) => id,
      },
    );
    const b = idempotent(async (id: string) => calls.push(`b ${id}`), {
      idempotency,
      operation: "b",
      key: (id) => id,
    });
    expect(await a("order:1/x")).toBeUndefined();
    expect((await a.withOutcome("order:1/x")).kind).toBe("replayed");
    expect(await b("order:1/x")).toBe(2);
    expect(calls).toEqual(["a order:1/x", "b order:1/x"]);
    expect(() =>
      idempotent(async () => 1, { idempotency, operation: "", key: () => "k" }),
    ).toThrow();
  });
});
