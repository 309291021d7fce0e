// Scenario 4: slots move between the primaries of a 3-primary cluster while a workload runs,
// so the clients meet MOVED and ASK redirections.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ClaimLostError } from "../../src/errors/claim-lost-error.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/redis/valkey-store.ts";
import { clusterFamilies, connectCluster, type ConnectedClient } from "../servers/clients.ts";
import { startCluster, type ClusterProcess } from "../servers/redis-server.ts";
import { ExecutionLog, report, scenarioTimeoutMs, workloadMs } from "./scenario-report.ts";

const run = promisify(execFile);

describe("cluster resharding during a workload", () => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({ binary: "redis-server" });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it.each(clusterFamilies)(
    "via %s: no duplicate, no untyped error, every key completes",
    async (family) => {
      const connected: ConnectedClient = await connectCluster(family, cluster.rootNodes);
      const idempotency = new Idempotency({
        store: new ValkeyStore({ client: connected.client, prefix: `reshard-${family}` }),
        leaseTtlMs: 5000,
      });
      const ids = await Promise.all(cluster.nodes.map((node) => node.cli("cluster", "myid")));
      const log = new ExecutionLog();
      const keys = Array.from({ length: 2000 }, () => IdempotencyKey.random());
      const acknowledged = new Map<string, string>();
      let operations = 0;
      let typedErrors = 0;
      let claimsLost = 0;
      const attempt = async (key: IdempotencyKey, waitMs: number) => {
        operations++;
        try {
          const outcome = await idempotency.execute(
            key,
            { operation: "POST /reshard" },
            () => {
              log.record(key.value);
              return `run of ${key.value}`;
            },
            { waitMs },
          );
          if (outcome.kind === "executed" || outcome.kind === "replayed") {
            acknowledged.set(key.value, outcome.response.text());
          }
        } catch (error) {
          if (error instanceof ClaimLostError) claimsLost++;
          else if (error instanceof StoreError) typedErrors++;
          else throw error;
        }
      };
      const deadline = Date.now() + workloadMs(6000);
      let moves = 0;
      const resharder = (async () => {
        // Move 300 slots around the ring, one primary to the next, until the workload ends.
        while (Date.now() < deadline) {
          const from = moves % ids.length;
          const to = (moves + 1) % ids.length;
          await run("redis-cli", [
            "--cluster",
            "reshard",
            `127.0.0.1:${cluster.nodes[0]?.port ?? 0}`,
            "--cluster-from",
            ids[from] ?? "",
            "--cluster-to",
            ids[to] ?? "",
            "--cluster-slots",
            "300",
            "--cluster-yes",
          ]);
          moves++;
        }
      })();
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (Date.now() < deadline) {
            await attempt(keys[Math.floor(Math.random() * keys.length)] as IdempotencyKey, 0);
          }
        }),
      );
      await resharder;
      for (const key of keys) if (!acknowledged.has(key.value)) await attempt(key, 12_000);
      await connected.close();
      report({
        scenario: `cluster resharding via ${family}`,
        operations,
        faults: moves,
        duplicates: log.duplicates,
        lost: 0,
        note: `${moves} moves of 300 slots; ${typedErrors} typed store errors, ${claimsLost} claims lost`,
      });
      expect(moves).toBeGreaterThan(0);
      expect(log.duplicates).toBeLessThanOrEqual(claimsLost);
      expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
    },
    scenarioTimeoutMs(),
  );
});
