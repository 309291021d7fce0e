// Scenario 1: a proxy between client and server drops, stalls and half-closes connections at
// random points, including between a script's execution and its reply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import {
  report,
  ScenarioWorkload,
  scenarioTimeoutMs,
  total,
  workloadMs,
} from "./scenario-report.ts";
import { faultKinds, startTcpProxy, type TcpProxy } from "./tcp-proxy.ts";

describe("connection cuts between client and server", () => {
  let server: ServerProcess;
  let proxy: TcpProxy;
  let client: Redis;
  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    proxy = await startTcpProxy(server.port);
    client = new Redis({
      port: proxy.port,
      host: "127.0.0.1",
      maxRetriesPerRequest: 1,
      commandTimeout: 400,
      retryStrategy: () => 20,
    });
    client.on("error", () => undefined);
  });
  afterAll(async () => {
    client.disconnect();
    await proxy.close();
    await server.stop();
  });

  // At a moderate fault rate the claim outlives every outage: no duplicate at all. At an extreme
  // rate a completion can fail for a whole lease; then the caller gets a ClaimLostError and a
  // later retry runs again: every duplicate must have been announced that way.
  it.each([
    { rate: "moderate", faultEveryMs: 150, leaseTtlMs: 5000 },
    { rate: "extreme", faultEveryMs: 40, leaseTtlMs: 2000 },
  ])(
    "$rate fault rate: no silent duplicate, no acknowledged response changed",
    async ({ rate, faultEveryMs, leaseTtlMs }) => {
      const idempotency = new Idempotency({
        store: new ValkeyStore({ client, prefix: "cuts" }),
        leaseTtlMs,
      });
      const keys = Array.from({ length: 150 }, () => IdempotencyKey.random());
      const faultsBefore = { ...proxy.injected };
      const workload = new ScenarioWorkload("POST /cuts");
      const attempt = (key: IdempotencyKey, waitMs: number) =>
        workload.attempt(idempotency, key, waitMs);
      const { log, acknowledged } = workload;

      const deadline = Date.now() + workloadMs(5000);
      const injector = setInterval(() => {
        proxy.inject(faultKinds[Math.floor(Math.random() * faultKinds.length)] ?? "drop-reply");
      }, faultEveryMs);
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (Date.now() < deadline) {
            await attempt(keys[Math.floor(Math.random() * keys.length)] as IdempotencyKey, 0);
          }
        }),
      );
      clearInterval(injector);
      proxy.clear();
      // Faults over: every key is retried until it completes, waiting out orphaned claims.
      for (const key of keys) {
        for (let tries = 0; tries < 5 && !acknowledged.has(key.value); tries++) {
          await attempt(key, leaseTtlMs + 2000);
        }
      }
      const faults = Object.fromEntries(
        faultKinds.map((kind) => [kind, proxy.injected[kind] - faultsBefore[kind]]),
      );
      report({
        scenario: `connection cuts, ${rate} rate (one every ${faultEveryMs} ms, lease ${leaseTtlMs} ms)`,
        operations: workload.operations,
        faults,
        duplicates: log.duplicates,
        silent: workload.silentDuplicates,
        lost: workload.lost,
        note: `${workload.storeErrors} typed store errors, ${workload.claimsLost} claims lost`,
      });
      expect(total(faults)).toBeGreaterThan(5);
      expect(Object.fromEntries(workload.silentByKey())).toEqual({});
      expect(workload.lost).toBe(0);
      expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
    },
    scenarioTimeoutMs(),
  );
});
