// Scenario 4: slots move between the primaries of a 3-primary cluster while a workload runs,
// so the clients meet MOVED and ASK redirections.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { clusterFamilies, connectCluster, type ConnectedClient } from "../servers/clients.ts";
import { startCluster, type ClusterProcess } from "../servers/redis-server.ts";
import { report, ScenarioWorkload, scenarioTimeoutMs, workloadMs } from "./scenario-report.ts";

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
      const keys = Array.from({ length: 2000 }, () => IdempotencyKey.random());
      const workload = new ScenarioWorkload("POST /reshard");
      const attempt = (key: IdempotencyKey, waitMs: number) =>
        workload.attempt(idempotency, key, waitMs);
      const { log, acknowledged } = workload;
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
        operations: workload.operations,
        faults: { "moves of 300 slots": moves },
        duplicates: log.duplicates,
        silent: workload.silentDuplicates,
        lost: workload.lost,
        note: `${moves} moves of 300 slots; ${workload.storeErrors} typed store errors, ${workload.claimsLost} claims lost`,
      });
      expect(moves).toBeGreaterThan(0);
      expect(Object.fromEntries(workload.silentByKey())).toEqual({});
      expect(workload.lost).toBe(0);
      expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
    },
    scenarioTimeoutMs(),
  );
});
