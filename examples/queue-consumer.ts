// A queue consumer that charges each order once, though the queue delivers at least once.
// Run: npx tsx examples/queue-consumer.ts (part of npm run demo)
import { Idempotency, IdempotencyConflictError, idempotent } from "../src/index.ts";
import { MemoryStore } from "../src/stores/memory/index.ts";
import { delay } from "../src/utils/delay.ts";

interface OrderPlaced {
  readonly eventId: string;
  readonly sentAt: string; // set by the producer on every (re)delivery
  readonly order: { readonly id: string; readonly amountCents: number };
}

interface Charge {
  readonly chargeId: string;
  readonly amountCents: number;
}

let chargesMade = 0;
async function chargeCard(event: OrderPlaced): Promise<Charge> {
  chargesMade++;
  await delay(30); // the payment provider
  return { chargeId: `ch_${chargesMade}`, amountCents: event.order.amountCents };
}

// The key is the event id; the fingerprint is the order, not the delivery's timestamp.
const chargeOnce = idempotent(chargeCard, {
  idempotency: new Idempotency({ store: new MemoryStore() }),
  operation: "charge-order",
  key: (event) => event.eventId,
  fingerprint: (event) => event.order,
  waitMs: 1000, // a redelivery racing the first waits for its result
});

async function handle(event: OrderPlaced, delivery: number): Promise<void> {
  try {
    const { kind, result } = await chargeOnce.withOutcome(event);
    console.log(`delivery ${delivery}: ${event.eventId} -> ${kind} ${result.chargeId}`);
  } catch (error) {
    // Acknowledge nothing: the queue redelivers later.
    if (error instanceof IdempotencyConflictError) {
      console.log(`delivery ${delivery}: ${event.eventId} -> ${error.reason}, nack`);
    } else throw error;
  }
}

const placed = (eventId: string, orderId: string, amountCents: number): OrderPlaced => ({
  eventId,
  sentAt: new Date().toISOString(),
  order: { id: orderId, amountCents },
});

console.log("== idempotent demo: a queue consumer, deliveries at least once ==\n");
// Two consumers get the same event at once, then the queue redelivers it later.
await Promise.all([
  handle(placed("evt_1", "order-1", 4200), 1),
  handle(placed("evt_1", "order-1", 4200), 2),
]);
await handle(placed("evt_2", "order-2", 990), 3);
await handle(placed("evt_1", "order-1", 4200), 4);
// A buggy producer reuses an event id for another order: a conflict, never a wrong replay.
await handle(placed("evt_2", "order-3", 15_000), 5);
console.log(`\nCharges made: ${chargesMade} for 5 deliveries of 2 orders.`);
