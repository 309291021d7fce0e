// Scenario 3: a primary with a replica; the replica falls behind (SIGSTOP), the primary dies
// (SIGKILL) and the replica is promoted in the middle of a workload.
import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore, type WaitForReplicasOptions } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import {
  notPromised,
  report,
  ScenarioWorkload,
  scenarioTimeoutMs,
  workloadMs,
} from "./scenario-report.ts";
import { delay } from "../../src/utils/delay.ts";

describe("replica failover", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step().catch(() => undefined);
  });

  it.each([
    { mode: "without WAIT", wait: undefined },
    { mode: "with waitForReplicas", wait: { replicas: 1, timeoutMs: 200 } },
  ])(
    "$mode",
    async ({ mode, wait }: { mode: string; wait: WaitForReplicasOptions | undefined }) => {
      const primary: ServerProcess = await startServer({ binary: "redis-server" });
      const replica: ServerProcess = await startServer({
        binary: "redis-server",
        args: ["--replicaof", "127.0.0.1", String(primary.port)],
      });
      cleanup.push(
        () => replica.stop(),
        () => primary.stop(),
      );
      while (!(await primary.cli("info", "replication")).includes("state=online")) await delay(50);

      const leaseTtlMs = 1000;
      const keys: IdempotencyKey[] = [];
      const workload = new ScenarioWorkload("POST /failover");
      const run = (idempotency: Idempotency, key: IdempotencyKey, waitMs: number) =>
        workload.attempt(idempotency, key, waitMs);
      const { log } = workload;

      const primaryClient = new Redis({
        port: primary.port,
        host: "127.0.0.1",
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      primaryClient.on("error", () => undefined);
      cleanup.push(async () => {
        primaryClient.disconnect();
      });
      const before = new Idempotency({
        store: new ValkeyStore({
          client: primaryClient,
          prefix: "failover",
          ...(wait === undefined ? {} : { waitForReplicas: wait }),
        }),
        leaseTtlMs,
      });
      let next = 0;
      const phaseMs = workloadMs(600);
      const worker = async (until: number) => {
        while (Date.now() < until) {
          const key = IdempotencyKey.random();
          keys.push(key);
          next++;
          await run(before, key, 0);
        }
      };
      await Promise.all(Array.from({ length: 8 }, () => worker(Date.now() + phaseMs)));
      process.kill(replica.pid(), "SIGSTOP"); // the replica falls behind
      await Promise.all(Array.from({ length: 8 }, () => worker(Date.now() + phaseMs)));
      await primary.kill();
      process.kill(replica.pid(), "SIGCONT");
      await replica.cli("replicaof", "no", "one");

      const promotedClient = new Redis(replica.port, "127.0.0.1");
      cleanup.push(async () => {
        promotedClient.disconnect();
      });
      const after = new Idempotency({
        store: new ValkeyStore({ client: promotedClient, prefix: "failover" }),
        leaseTtlMs,
      });
      // Every client retries every key it sent, against the promoted replica.
      for (const key of keys.slice(0, next)) await run(after, key, leaseTtlMs * 3);

      const silent = workload.silentDuplicates;
      report({
        scenario: `replica failover, ${mode}`,
        operations: workload.operations,
        faults: { failover: 1 },
        duplicates: log.duplicates,
        silent,
        lost: notPromised(workload.lost),
        note: `${workload.claimsLost} claims lost, ${workload.storeErrors} typed store errors; ${next} keys`,
      });
      if (wait !== undefined) expect(silent).toBe(0);
      expect(log.keys).toBe(next);
    },
    scenarioTimeoutMs(),
  );
});
