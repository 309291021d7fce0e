// Scenario 1: a proxy between client and server drops, stalls and half-closes connections at
// random points, including between a script's execution and its reply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { claimScript, completeScript } from "../../src/stores/valkey/scripts.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ConnectedClient } from "../servers/clients.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import {
  countStoreCalls,
  type StoreCallCounts,
  faultsBelow,
  forEachBounded,
  report,
  ScenarioWorkload,
  scenarioTimeoutMs,
  total,
  workloadMs,
} from "./scenario-report.ts";
import { faultKinds, startTcpProxy, type CommandClass } from "./tcp-proxy.ts";

/** Which store script a command runs: EVALSHA <sha> or EVAL <source>. */
function classify(args: readonly Buffer[]): CommandClass {
  const name = args[0]?.toString("latin1").toUpperCase();
  if (name !== "EVALSHA" && name !== "EVAL") return "other";
  const script = args[1]?.toString("latin1");
  if (script === claimScript.sha || script === claimScript.source) return "claim";
  if (script === completeScript.sha || script === completeScript.source) return "completion";
  return "other";
}

/** Each kind of cut must have hit the workload at least this often. */
const minimumPerKind = 3;

describe("connection cuts between client and server", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
  });
  afterAll(async () => {
    await server.stop();
  });

  // At a moderate fault rate the claim outlives every outage: no duplicate at all. At an extreme
  // rate a completion can fail for a whole lease; then the caller gets a ClaimLostError and a
  // later retry runs again: every duplicate of a key must have been announced for that key.
  it.each([
    { rate: "moderate", faultEveryMs: 150, leaseTtlMs: 5000 },
    { rate: "extreme", faultEveryMs: 40, leaseTtlMs: 2000 },
  ])(
    "$rate fault rate: every cut kind hits, no silent duplicate, no acknowledged response changed",
    async ({ rate, faultEveryMs, leaseTtlMs }) => {
      const proxy = await startTcpProxy(server.port, { classify });
      // Four connections, as four application instances would have: a stalled one does not
      // stop the traffic of the others. Every client family meets the cuts.
      const families = ["ioredis", "node-redis", "iovalkey", "ioredis"] as const;
      const clients: ConnectedClient[] = await Promise.all(
        families.map((family) =>
          connect(family, proxy.port, { commandTimeoutMs: 400, retries: 1 }),
        ),
      );
      try {
        const counts: StoreCallCounts = { calls: {}, errors: {} };
        // Store errors by client family too, to show each family met the cuts.
        const byFamily = families.map((): StoreCallCounts => ({ calls: {}, errors: {} }));
        const instances = clients.map(
          ({ client }, index) =>
            new Idempotency({
              store: countStoreCalls(
                countStoreCalls(new ValkeyStore({ client, prefix: "cuts" }), counts).store,
                byFamily[index],
              ).store,
              leaseTtlMs,
            }),
        );
        const idempotency = instances[0] as Idempotency;
        const workload = new ScenarioWorkload("POST /cuts");
        const { acknowledged } = workload;
        // New keys keep arriving, so claims and completions cross the proxy all run long; a
        // caller retries one of the recent keys otherwise.
        const keys: IdempotencyKey[] = [];
        const pick = () => {
          if (keys.length < 16 || Math.random() < 0.2) {
            const key = IdempotencyKey.random();
            keys.push(key);
            return key;
          }
          const recent = Math.max(0, keys.length - 150);
          return keys[
            recent + Math.floor(Math.random() * (keys.length - recent))
          ] as IdempotencyKey;
        };

        const deadline = Date.now() + workloadMs(5000);
        // One fault at a time, every kind in turn, so each is applied as often as the others:
        // the request-side cuts, which find traffic at once, cannot crowd out the cuts of
        // replies to claims and completions, which wait for such a reply to cross.
        let injected = 0;
        const injector = setInterval(() => {
          if (proxy.pending()) return;
          proxy.inject(faultKinds[injected++ % faultKinds.length] ?? "drop-request");
        }, faultEveryMs);
        // The workload runs its time, and on until every kind of cut has hit it often enough
        // (a loaded machine sends less traffic to cut), within a bound.
        const cap = deadline + 15_000;
        const running = () =>
          Date.now() < deadline ||
          (Date.now() < cap &&
            Object.keys(faultsBelow(proxy.applied, faultKinds, minimumPerKind)).length > 0);
        await Promise.all(
          Array.from({ length: 16 }, async (_, worker) => {
            const instance = instances[worker % instances.length] as Idempotency;
            while (running()) await workload.attempt(instance, pick(), 0);
          }),
        );
        clearInterval(injector);
        proxy.clear();
        const faults = { ...proxy.applied };
        // Faults over: every key is retried until it completes, waiting out orphaned claims,
        // then every acknowledged response is asked for once more.
        const unanswered = keys.filter((key) => !acknowledged.has(key.value));
        await forEachBounded(unanswered, 16, async (key) => {
          for (let tries = 0; tries < 5 && !acknowledged.has(key.value); tries++) {
            await workload.attempt(idempotency, key, leaseTtlMs + 2000);
          }
        });
        const unverified = await workload.verify(idempotency, leaseTtlMs + 2000);
        report({
          scenario: `connection cuts, ${rate} rate (one cut at a time, every ${faultEveryMs} ms at most, lease ${leaseTtlMs} ms)`,
          operations: workload.operations,
          faults,
          duplicates: workload.log.duplicates,
          silent: workload.silentDuplicates,
          lost: workload.lost,
          note: `${keys.length} keys, ${unanswered.length} unanswered when the faults stopped; ${workload.claimsLostNote()}, ${workload.storeErrors} typed store errors reached callers (${workload.ambiguousStoreErrors} ambiguous); store errors by operation, retried ones included: ${JSON.stringify(counts.errors)}; store errors by client: ${families.map((family, index) => `${family} ${total(byFamily[index]?.errors ?? {})}`).join(", ")}; ${injected - total(faults)} injected faults found no traffic to hit`,
        });
        expect(faultsBelow(faults, faultKinds, minimumPerKind)).toEqual({});
        expect(Object.fromEntries(workload.silentByKey())).toEqual({});
        expect(workload.lost).toBe(0);
        expect(unverified).toBe(0);
        expect(keys.every((key) => acknowledged.has(key.value))).toBe(true);
      } finally {
        await Promise.all(clients.map((client) => client.close()));
        await proxy.close();
      }
    },
    scenarioTimeoutMs(),
  );
});
