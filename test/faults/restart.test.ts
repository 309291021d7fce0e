import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ConnectedClient } from "../servers/clients.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { report } from "./scenario-report.ts";
import { delay } from "../../src/utils/delay.ts";

// With `everysec` a killed process loses nothing either: its writes are in the operating
// system's cache; only a machine crash loses up to a second, which a test here cannot cause.
describe.each(["always", "everysec"])(
  "a server killed with SIGKILL mid-workload (appendonly yes, appendfsync %s)",
  (fsync) => {
    let server: ServerProcess;
    let connected: ConnectedClient;
    beforeAll(async () => {
      server = await startServer({
        binary: "redis-server",
        args: ["--appendonly", "yes", "--appendfsync", fsync],
      });
      connected = await connect("ioredis", server.port, { retries: 3 });
    });
    afterAll(async () => {
      await connected.close();
      await server.stop();
    });

    it("runs no side effect twice and loses no acknowledged response", async () => {
      const idempotency = new Idempotency({
        store: new ValkeyStore({ client: connected.client, prefix: "restart" }),
        leaseTtlMs: 3000,
      });
      const keys = Array.from({ length: 400 }, () => IdempotencyKey.random());
      const executions = new Map<string, number>();
      const acknowledged = new Map<string, string>();
      let sequence = 0;
      let failedAttempts = 0;
      const attempt = async (key: IdempotencyKey, waitMs: number) => {
        try {
          const outcome = await idempotency.execute(
            key,
            { operation: "POST /restart" },
            async () => {
              // Counted by the side effect itself, before anything is stored.
              executions.set(key.value, (executions.get(key.value) ?? 0) + 1);
              await delay(2);
              return `execution ${++sequence}`;
            },
            { waitMs },
          );
          if (outcome.kind === "executed" || outcome.kind === "replayed") {
            const body = outcome.response.text();
            const earlier = acknowledged.get(key.value);
            if (earlier !== undefined) expect(body).toBe(earlier);
            acknowledged.set(key.value, body);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(StoreError);
          failedAttempts++;
        }
      };

      let next = 0;
      let killed = false;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < keys.length) {
            const key = keys[next++] as IdempotencyKey;
            if (!killed && acknowledged.size >= 120) {
              killed = true;
              void server.kill().then(async () => {
                await delay(300);
                await server.restart();
              });
            }
            await attempt(key, 0);
          }
        }),
      );
      expect(killed).toBe(true);
      const acknowledgedBeforeRetry = new Map(acknowledged);

      // Every client retries every key, waiting out any claim whose owner never heard back.
      await Promise.all(keys.map((key) => attempt(key, 8000)));

      expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
      for (const [key, body] of acknowledgedBeforeRetry) expect(acknowledged.get(key)).toBe(body);
      expect([...executions.values()].every((count) => count === 1)).toBe(true);
      expect(executions.size).toBe(keys.length);
      report({
        scenario: `server SIGKILL and restart, appendfsync ${fsync}`,
        operations: keys.length * 2,
        faults: { "SIGKILL and restart": 1 },
        duplicates: [...executions.values()].reduce((sum, count) => sum + count - 1, 0),
        silent: [...executions.values()].reduce((sum, count) => sum + count - 1, 0),
        lost: [...acknowledgedBeforeRetry].filter(([key, body]) => acknowledged.get(key) !== body)
          .length,
        note: `${failedAttempts} attempts failed with a typed error during the outage; ${acknowledgedBeforeRetry.size} of ${keys.length} keys acknowledged before the retry pass`,
      });
    }, 120_000);
  },
);
