import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import { afterEach, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import type { IdempotencyEvent } from "../../src/execution/idempotency-event.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { MemoryStore } from "../../src/stores/memory/memory-store.ts";
import { delay } from "../../src/utils/delay.ts";
import { meterEvents, metricNames } from "../../src/tracing/meter-events.ts";
import { traceStore } from "../../src/tracing/traced-store.ts";

function meterProvider() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return {
    meter: provider.getMeter("test"),
    collect: async (): Promise<ResourceMetrics[]> => {
      await reader.forceFlush();
      return exporter.getMetrics();
    },
    shutdown: () => provider.shutdown(),
  };
}

/** Sum of a counter's points by one attribute's value. */
function countsBy(resourceMetrics: ResourceMetrics[], name: string, attribute: string) {
  const counts: Record<string, number> = {};
  for (const resource of resourceMetrics.slice(-1)) {
    for (const scope of resource.scopeMetrics) {
      for (const metric of scope.metrics) {
        if (metric.descriptor.name !== name) continue;
        for (const point of metric.dataPoints) {
          const label = String(point.attributes[attribute]);
          const value = point.value as number | { count: number };
          counts[label] = (counts[label] ?? 0) + (typeof value === "number" ? value : value.count);
        }
      }
    }
  }
  return counts;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe("events", () => {
  it("tell every outcome apart, and a throwing listener changes nothing", async () => {
    const events: IdempotencyEvent[] = [];
    const idempotency = new Idempotency({
      store: new MemoryStore(),
      onEvent: (event) => {
        events.push(event);
        throw new Error("listener bug");
      },
    });
    const key = IdempotencyKey.random();
    const request = { operation: "charge", body: "1" };
    const slow = idempotency.execute(key, request, async () => {
      await delay(50);
      return "ok";
    });
    expect((await idempotency.execute(key, request, async () => "again")).kind).toBe("in-flight");
    expect((await slow).kind).toBe("executed");
    expect((await idempotency.execute(key, request, async () => "again")).kind).toBe("replayed");
    const other = { operation: "charge", body: "2" };
    expect((await idempotency.execute(key, other, async () => "x")).kind).toBe(
      "fingerprint-mismatch",
    );
    await expect(
      idempotency.execute(IdempotencyKey.random(), request, async () => {
        throw new Error("declined");
      }),
    ).rejects.toThrow("declined");
    expect(events.map((event) => event.kind)).toEqual([
      "in-flight",
      "executed",
      "replayed",
      "fingerprint-mismatch",
      "released",
    ]);
    const executed = events[1];
    if (executed?.kind !== "executed") throw new Error("expected executed");
    expect(executed.durationMs).toBeGreaterThanOrEqual(40);
    expect(executed.key.equals(key)).toBe(true);
  });

  it("report store failures with the store's error", async () => {
    const events: IdempotencyEvent[] = [];
    const failure = new StoreError("timeout", "tryInsert", "no reply", { ambiguous: true });
    const store = new MemoryStore();
    const idempotency = new Idempotency({
      store: { ...bind(store), tryInsert: async () => Promise.reject(failure) },
      onEvent: (event) => events.push(event),
    });
    await expect(
      idempotency.execute(IdempotencyKey.random(), { operation: "x" }, async () => "y"),
    ).rejects.toBe(failure);
    expect(events).toEqual([expect.objectContaining({ kind: "store-error", error: failure })]);
  });
});

describe("metrics", () => {
  it("count outcomes by kind, time executions, and time store operations", async () => {
    const { meter, collect, shutdown } = meterProvider();
    cleanups.push(shutdown);
    const idempotency = new Idempotency({
      store: traceStore(new MemoryStore(), { storeName: "memory", meter }),
      onEvent: meterEvents({ meter, operation: "charge" }),
    });
    const key = IdempotencyKey.random();
    const request = { operation: "charge", body: "1" };
    await idempotency.execute(key, request, async () => "ok");
    await idempotency.execute(key, request, async () => "again");
    await idempotency.execute(key, request, async () => "again");
    await idempotency.execute(key, { operation: "charge", body: "2" }, async () => "x");
    const collected = await collect();
    expect(countsBy(collected, metricNames.outcomes, "idempotency.outcome")).toEqual({
      executed: 1,
      replayed: 2,
      "fingerprint-mismatch": 1,
    });
    expect(countsBy(collected, metricNames.executionDuration, "idempotency.operation")).toEqual({
      charge: 1,
    });
    expect(countsBy(collected, metricNames.storeDuration, "idempotency.operation")).toEqual({
      tryInsert: 4,
      complete: 1,
    });
  });
});

function bind(store: MemoryStore) {
  return {
    tryInsert: store.tryInsert.bind(store),
    complete: store.complete.bind(store),
    touch: store.touch.bind(store),
    remove: store.remove.bind(store),
    get: store.get.bind(store),
    purge: store.purge.bind(store),
  };
}
