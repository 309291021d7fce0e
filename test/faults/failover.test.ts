// Scenario 3: a primary with a replica; the replication link stalls, so the replica falls
// behind, the primary dies (SIGKILL) and the replica is promoted in the middle of a workload.
// The link runs through a proxy that holds back what the primary sends once it stalls: every
// write after the stall is gone after the failover, whatever the machine's speed.
import { afterEach, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore, type WaitForReplicasOptions } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import {
  forEachBounded,
  notPromised,
  report,
  ScenarioWorkload,
  scenarioTimeoutMs,
  workloadMs,
} from "./scenario-report.ts";
import { startTcpProxy } from "./tcp-proxy.ts";
import { delay } from "../../src/utils/delay.ts";

/** A field of `INFO replication`, as a number. */
function replicationField(info: string, field: string): number {
  const value = new RegExp(`^${field}:(\\d+)`, "m").exec(info)?.[1];
  if (value === undefined) throw new Error(`no ${field} in INFO replication:\n${info}`);
  return Number(value);
}

/** The offset the primary last heard its first replica acknowledge. */
function acknowledgedOffset(info: string): number {
  const value = /^slave0:.*\boffset=(\d+)/m.exec(info)?.[1];
  if (value === undefined) throw new Error(`no replica in INFO replication:\n${info}`);
  return Number(value);
}

/** Keys the workload must have sent after the stall, so the failover has writes to lose. */
const minimumKeysAfterStall = 20;

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
      const link = await startTcpProxy(primary.port);
      const replica: ServerProcess = await startServer({
        binary: "redis-server",
        // A link silent for the whole (soak) workload must not make the replica reconnect.
        args: ["--replicaof", "127.0.0.1", String(link.port), "--repl-timeout", "3600"],
      });
      cleanup.push(
        () => replica.stop(),
        () => link.close(),
        () => primary.stop(),
      );
      for (let tries = 0; ; tries++) {
        if ((await primary.cli("info", "replication")).includes("state=online")) break;
        if (tries > 400) throw new Error("the replica never came online");
        await delay(50);
      }

      const leaseTtlMs = 1000;
      const keys: IdempotencyKey[] = [];
      const workload = new ScenarioWorkload("POST /failover");
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
      let stalled = false;
      let keysAfterStall = 0;
      let acknowledgedAfterStall = 0;
      const worker = async (running: () => boolean) => {
        while (running()) {
          const key = IdempotencyKey.random();
          keys.push(key);
          const afterStall = stalled;
          if (afterStall) keysAfterStall++;
          const result = await workload.attempt(before, key, 0);
          if (afterStall && result === "executed") acknowledgedAfterStall++;
        }
      };
      const phaseMs = workloadMs(600);
      const phaseOne = Date.now() + phaseMs;
      await Promise.all(Array.from({ length: 8 }, () => worker(() => Date.now() < phaseOne)));
      link.holdReplies(); // the replica falls behind: it gets nothing more
      stalled = true;
      const phaseTwo = Date.now() + phaseMs;
      const cap = phaseTwo + 15_000;
      await Promise.all(
        Array.from({ length: 8 }, () =>
          worker(
            () =>
              (Date.now() < phaseTwo || keysAfterStall < minimumKeysAfterStall) && Date.now() < cap,
          ),
        ),
      );
      // How far behind the replica is, as the primary sees it, just before the primary dies.
      const primaryInfo = await primary.cli("info", "replication");
      const primaryOffset = replicationField(primaryInfo, "master_repl_offset");
      const lagBeforeFailover = primaryOffset - acknowledgedOffset(primaryInfo);
      const heldBack = link.heldBytes;
      const exit = await primary.kill();
      await link.close(); // what it held back is gone with the primary
      await replica.cli("replicaof", "no", "one");
      const promotedInfo = await replica.cli("info", "replication");
      const failovers = exit === "SIGKILL" && promotedInfo.includes("role:master") ? 1 : 0;
      const missingBytes = primaryOffset - replicationField(promotedInfo, "master_repl_offset");

      const promotedClient = new Redis(replica.port, "127.0.0.1");
      cleanup.push(async () => {
        promotedClient.disconnect();
      });
      const after = new Idempotency({
        store: new ValkeyStore({ client: promotedClient, prefix: "failover" }),
        leaseTtlMs,
      });
      let missingKeys = 0;
      await forEachBounded(keys, 16, async (key) => {
        if ((await after.store.get(key)) === undefined) missingKeys++;
      });
      // Every client retries every key it sent, against the promoted replica.
      await forEachBounded(keys, 8, async (key) => {
        await workload.attempt(after, key, leaseTtlMs * 3);
      });

      const silent = workload.silentDuplicates;
      report({
        scenario: `replica failover, ${mode}`,
        operations: workload.operations,
        faults: { "failover with the replica behind": lagBeforeFailover > 0 ? failovers : 0 },
        duplicates: workload.log.duplicates,
        silent,
        lost: wait === undefined ? notPromised(workload.lost) : workload.lost,
        note: `the replica was ${lagBeforeFailover} bytes of replication stream behind when the primary died, and lacked ${missingBytes} once promoted (the stalled link held back ${heldBack}); ${keysAfterStall} of ${keys.length} keys sent after the replica stalled, ${acknowledgedAfterStall} of them acknowledged; ${missingKeys} keys missing on the promoted replica; ${workload.claimsLost} claims lost, ${workload.storeErrors} typed store errors`,
      });
      expect(failovers).toBe(1);
      expect(lagBeforeFailover).toBeGreaterThan(0);
      expect(missingBytes).toBeGreaterThan(0);
      expect(keysAfterStall).toBeGreaterThanOrEqual(minimumKeysAfterStall);
      expect(missingKeys).toBeGreaterThan(0);
      expect(workload.log.keys).toBe(keys.length);
      if (wait === undefined) {
        // What the WAIT variant is measured against: here the failover does bite.
        expect(acknowledgedAfterStall).toBeGreaterThan(0);
        expect(silent).toBeGreaterThan(0);
      } else {
        expect(Object.fromEntries(workload.silentByKey())).toEqual({});
        expect(workload.lost).toBe(0);
      }
    },
    scenarioTimeoutMs(),
  );
});
