// Scenario 1: a proxy between client and server drops, stalls and half-closes connections at
// random points, including between a script's execution and its reply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/redis/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { ExecutionLog, report, scenarioTimeoutMs, workloadMs } from "./scenario-report.ts";
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
      const faultsBefore = Object.values(proxy.injected).reduce((sum, count) => sum + count, 0);
      const log = new ExecutionLog();
      const acknowledged = new Map<string, string>();
      let operations = 0;
      let changed = 0;
      let storeErrors = 0;
      let claimsLost = 0;
      const attempt = async (key: IdempotencyKey, waitMs: number) => {
        operations++;
        try {
          const outcome = await idempotency.execute(
            key,
            { operation: "POST /cuts" },
            () => {
              log.record(key.value);
              return `run ${log.count(key.value)} of ${key.value}`;
            },
            { waitMs },
          );
          if (outcome.kind === "executed" || outcome.kind === "replayed") {
            const body = outcome.response.text();
            const earlier = acknowledged.get(key.value);
            if (earlier !== undefined && earlier !== body) changed++;
            acknowledged.set(key.value, body);
          }
        } catch (error) {
          if (error instanceof ClaimLostError) claimsLost++;
          else if (error instanceof StoreError) storeErrors++;
          else throw error;
        }
      };

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
      const faults =
        Object.values(proxy.injected).reduce((sum, count) => sum + count, 0) - faultsBefore;
      report({
        scenario: `connection cuts, ${rate} rate (one every ${faultEveryMs} ms, lease ${leaseTtlMs} ms)`,
        operations,
        faults,
        duplicates: log.duplicates,
        lost: changed,
        note: `${storeErrors} typed store errors, ${claimsLost} claims lost, faults ${JSON.stringify(proxy.injected)}`,
      });
      expect(faults).toBeGreaterThan(5);
      expect(log.duplicates).toBeLessThanOrEqual(claimsLost);
      expect(changed).toBe(0);
      expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
    },
    scenarioTimeoutMs(),
  );
});
