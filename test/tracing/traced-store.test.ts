import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { FencingToken } from "../../src/core/fencing-token.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { StoreClosedError } from "../../src/errors/store-closed-error.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { runStoreConformance } from "../../src/testing/store-conformance.ts";
import { traceStore } from "../../src/tracing/traced-store.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("test");

afterEach(() => {
  exporter.reset();
});

runStoreConformance({
  name: "traceStore(MemoryStore)",
  createStore: () => traceStore(new MemoryStore(), { tracer }),
  propertyRuns: 10,
});

describe("traceStore", () => {
  it("records one span per operation with key, outcome and fencing token", async () => {
    const memory = new MemoryStore();
    const store = traceStore(memory, { tracer, storeName: "memory" });
    const key = IdempotencyKey.parse("order-1");
    const entry = IdempotencyEntry.new(Fingerprint.fromHex("ab".repeat(16)));
    const claim = await store.tryInsert(key, entry, { leaseTtlMs: 1000 });
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    await store.tryInsert(key, entry);
    const zombie = FencingToken.from(claim.fencingToken.value + 1n);
    await store.complete(key, entry.complete(CachedResponse.from("x")), zombie, {
      retentionTtlMs: 1000,
    });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual([
      "idempotent.tryInsert",
      "idempotent.tryInsert",
      "idempotent.complete",
    ]);
    const [won, exists, rejected] = spans;
    expect(won?.attributes).toMatchObject({
      "idempotency.store": "memory",
      "idempotency.key": "order-1",
      "idempotency.outcome": "claimed",
      "idempotency.fencing_token": claim.fencingToken.toString(),
    });
    expect(exists?.attributes).toMatchObject({
      "idempotency.outcome": "exists",
      "idempotency.entry_state": "processing",
    });
    expect(rejected?.attributes["idempotency.outcome"]).toBe("fencing-mismatch");
    expect(rejected?.events.map((event) => event.name)).toEqual(["fencing.rejected"]);
    await memory.close();
  });

  it("records failures as exceptions with an error status, and can omit keys", async () => {
    const memory = new MemoryStore();
    await memory.close();
    const store = traceStore(memory, { tracer, recordKeys: false });
    await expect(store.purge(IdempotencyKey.parse("k"))).rejects.toBeInstanceOf(StoreClosedError);
    const [span] = exporter.getFinishedSpans();
    expect(span?.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(span?.events[0]?.name).toBe("exception");
    expect(span?.attributes["idempotency.key"]).toBeUndefined();
  });
});
