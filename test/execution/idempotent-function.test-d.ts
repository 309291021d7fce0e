// Compiled by `npm test` (tsc): the wrapper keeps the wrapped function's types. Each
// expected error below must stay an error.
import { expectTypeOf } from "vitest";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { idempotent } from "../../src/execution/idempotent-function.ts";

// An interface (not a type alias): no index signature, which a JSON value type would demand.
interface Receipt {
  readonly id: string;
  readonly amount: number;
}
interface Payment {
  readonly paymentId: string;
  readonly amount: number;
}
declare function charge(payment: Payment, attempt: number): Promise<Receipt>;

const idempotency = new Idempotency({ store: new MemoryStore() });
const chargeOnce = idempotent(charge, {
  idempotency,
  operation: "charge",
  key: (payment, attempt) => {
    expectTypeOf(payment).toEqualTypeOf<Payment>();
    expectTypeOf(attempt).toEqualTypeOf<number>();
    return payment.paymentId;
  },
  fingerprint: (payment) => payment.amount,
});
expectTypeOf(chargeOnce).parameters.toEqualTypeOf<[Payment, number]>();
expectTypeOf(chargeOnce).returns.resolves.toEqualTypeOf<Receipt>();
expectTypeOf(chargeOnce.withOutcome).returns.resolves.toEqualTypeOf<{
  readonly kind: "executed" | "replayed";
  readonly result: Receipt;
}>();

// @ts-expect-error the key selector sees the function's arguments, not others
idempotent(charge, { idempotency, operation: "charge", key: (payment: string) => payment });
// @ts-expect-error a key is a string or an IdempotencyKey
idempotent(charge, { idempotency, operation: "charge", key: (payment) => payment.amount });
// @ts-expect-error calls are checked against the wrapped function's parameters
void chargeOnce({ paymentId: "p" }, 1);
