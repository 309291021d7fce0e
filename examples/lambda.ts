// An AWS Lambda handler for an SQS queue that creates each order once; the Valkey/Redis store
// is shared by every concurrent instance. Type-checked with the project; deploy as usual.
import { Redis } from "ioredis";
import { Idempotency, IdempotencyConflictError, idempotent } from "../src/index.ts";
import { ValkeyStore } from "../src/stores/valkey/index.ts";

interface SqsEvent {
  readonly Records: readonly { readonly messageId: string; readonly body: string }[];
}
interface OrderRequest {
  readonly requestId: string;
  readonly customerId: string;
  readonly items: readonly { readonly sku: string; readonly quantity: number }[];
}
interface OrderCreated {
  readonly orderId: string;
}

declare function createOrder(request: OrderRequest): Promise<OrderCreated>;

// Built once per instance, outside the handler, with the README's fail-fast client settings.
const client = new Redis(process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379", {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
});
const createOrderOnce = idempotent(createOrder, {
  idempotency: new Idempotency({ store: new ValkeyStore({ client, prefix: "orders" }) }),
  operation: "create-order",
  key: (request) => request.requestId, // from the payload, not the SQS message id
});

/** Reports the messages to retry (SQS partial batch responses). */
export async function handler(event: SqsEvent): Promise<{
  batchItemFailures: { itemIdentifier: string }[];
}> {
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    try {
      await createOrderOnce(JSON.parse(record.body) as OrderRequest);
    } catch (error) {
      if (error instanceof IdempotencyConflictError && error.reason === "fingerprint-mismatch") {
        continue; // the same request id with other contents: drop it, retrying cannot help
      }
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
