// Scenario 4: slots move between the primaries of a 3-primary cluster while a workload runs,
// so the clients meet MOVED and ASK redirections. The keys live in the slots that move, and
// the servers count the redirections they answered (INFO errorstats).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { clusterFamilies, connectCluster, type ConnectedClient } from "../servers/clients.ts";
import { clusterSlot } from "../servers/cluster-slot.ts";
import { startCluster, type ClusterProcess } from "../servers/redis-server.ts";
import {
  faultsBelow,
  report,
  ScenarioWorkload,
  scenarioTimeoutMs,
  workloadMs,
} from "./scenario-report.ts";

const run = promisify(execFile);

/**
 * Slots per move. `redis-cli --cluster reshard` takes a source's lowest slots, so moving around
 * the ring from primary to primary moves slots 0 to 299 every time.
 */
const slotsPerMove = 300;
/**
 * The keys live in the first slots that move, many to a slot, and the keys of a slot migrate
 * one by one (`--cluster-pipeline 1`): while a slot migrates, a request for a key already gone
 * (or not there yet) is answered ASK.
 */
const keySlots = 30;
const keysPerSlot = 20;
const redirections = ["MOVED", "ASK"] as const;
/** Each kind of redirection must have been met by requests at least this often. */
const minimumPerKind = 10;

/** Redirections each server answered so far, summed over the cluster. */
async function redirectionsAnswered(cluster: ClusterProcess): Promise<Record<string, number>> {
  const totals: Record<string, number> = { MOVED: 0, ASK: 0 };
  for (const node of cluster.nodes) {
    const stats = await node.cli("info", "errorstats");
    for (const kind of redirections) {
      const count = new RegExp(`^errorstat_${kind}:count=(\\d+)`, "m").exec(stats)?.[1];
      totals[kind] = (totals[kind] ?? 0) + Number(count ?? 0);
    }
  }
  return totals;
}

describe("cluster resharding during a workload", () => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({ binary: "redis-server" });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it.each(clusterFamilies)(
    "via %s: requests meet MOVED and ASK, no duplicate, no untyped error, every key completes",
    async (family) => {
      const connected: ConnectedClient = await connectCluster(family, cluster.rootNodes);
      const prefix = `reshard-${family}`;
      const idempotency = new Idempotency({
        store: new ValkeyStore({ client: connected.client, prefix }),
        leaseTtlMs: 5000,
      });
      const ids = await Promise.all(cluster.nodes.map((node) => node.cli("cluster", "myid")));
      const keys: IdempotencyKey[] = [];
      while (keys.length < keySlots * keysPerSlot) {
        const key = IdempotencyKey.random();
        if (clusterSlot(`${prefix}:{${key.value}}`) < keySlots) keys.push(key);
      }
      const workload = new ScenarioWorkload("POST /reshard");
      const { log, acknowledged } = workload;
      const before = await redirectionsAnswered(cluster);
      const deadline = Date.now() + workloadMs(6000);
      const cap = deadline + 30_000;
      let moves = 0;
      let resharding = true;
      const resharder = (async () => {
        try {
          // Move the slots around the ring, one primary to the next, for the workload's time
          // and at least twice.
          while ((Date.now() < deadline || moves < 2) && Date.now() < cap) {
            await run("redis-cli", [
              "--cluster",
              "reshard",
              `127.0.0.1:${cluster.nodes[0]?.port ?? 0}`,
              "--cluster-from",
              ids[moves % ids.length] ?? "",
              "--cluster-to",
              ids[(moves + 1) % ids.length] ?? "",
              "--cluster-slots",
              String(slotsPerMove),
              "--cluster-pipeline",
              "1",
              "--cluster-yes",
            ]);
            moves++;
          }
        } finally {
          resharding = false;
        }
      })();
      // The workload runs until the last move has finished, so every move meets requests.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (resharding) {
            await workload.attempt(
              idempotency,
              keys[Math.floor(Math.random() * keys.length)] as IdempotencyKey,
              0,
            );
          }
        }),
      );
      await resharder;
      const after = await redirectionsAnswered(cluster);
      const faults = Object.fromEntries(
        redirections.map((kind) => [kind, (after[kind] ?? 0) - (before[kind] ?? 0)]),
      );
      for (const key of keys)
        if (!acknowledged.has(key.value)) await workload.attempt(idempotency, key, 12_000);
      const unverified = await workload.verify(idempotency, 12_000);
      await connected.close();
      report({
        scenario: `cluster resharding via ${family}`,
        operations: workload.operations,
        faults,
        duplicates: log.duplicates,
        silent: workload.silentDuplicates,
        lost: workload.lost,
        note: `redirections answered by the servers (INFO errorstats); ${moves} moves of ${slotsPerMove} slots, ${keys.length} keys in the first ${keySlots} of them, migrated one at a time; ${workload.storeErrors} typed store errors, ${workload.claimsLost} claims lost`,
      });
      expect(moves).toBeGreaterThanOrEqual(2);
      expect(faultsBelow(faults, redirections, minimumPerKind)).toEqual({});
      expect(Object.fromEntries(workload.silentByKey())).toEqual({});
      expect(workload.lost).toBe(0);
      expect(unverified).toBe(0);
      expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
    },
    scenarioTimeoutMs(),
  );
});
