// Scenarios 5 and 6: an owner that stalls past its lease, and a worker killed mid side effect.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { Idempotency } from "../../src/execution/idempotency.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { report } from "./scenario-report.ts";
import { delay } from "../../src/utils/delay.ts";

const worker = fileURLToPath(new URL("owner-worker.ts", import.meta.url));

describe("claim owners that stall or crash", () => {
  let server: ServerProcess;
  let client: Redis;
  let directory: string;
  let idempotency: Idempotency;
  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    client = new Redis(server.port, "127.0.0.1");
    directory = mkdtempSync(join(tmpdir(), "idempotent-owners-"));
    idempotency = new Idempotency({ store: new ValkeyStore({ client, prefix: "owners" }) });
  });
  afterAll(async () => {
    client.disconnect();
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  const start = (key: string, mode: string, leaseMs: number, log: string) => {
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      worker,
      String(server.port),
      key,
      mode,
      String(leaseMs),
      log,
    ]);
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ output: string; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (_code, signal) => {
        resolve({ output, signal });
      }),
    );
    return { child, exited };
  };
  const logLines = (log: string) => {
    try {
      return readFileSync(log, "utf8").split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  const waitFor = async (log: string, prefix: string) => {
    // A worker starts through tsx: on a loaded machine that takes seconds.
    for (let tries = 0; tries < 1500; tries++) {
      const line = logLines(log).find((entry) => entry.startsWith(prefix));
      if (line !== undefined) return line;
      await delay(20);
    }
    throw new Error(`worker never logged ${prefix}`);
  };

  it("re-claims from a stalled owner, rejects its completion and fires its signal", async () => {
    const key = `stalled-${Date.now()}`;
    const log = join(directory, `${key}.log`);
    const leaseMs = 1000;
    const { exited } = start(key, "block", leaseMs, log);
    await waitFor(log, "started");
    let runs = 0;
    let operations = 1; // the stalled owner's call
    operations++;
    let outcome = await idempotency.execute(
      IdempotencyKey.parse(key),
      { operation: "POST /owner" },
      () => {
        runs++;
        return "from the second owner";
      },
      { waitMs: 3 * leaseMs },
    );
    expect(outcome.kind).toBe("executed");
    const acknowledged = outcome.kind === "executed" ? outcome.response.text() : undefined;
    const stale = JSON.parse((await exited).output) as {
      kind: string;
      aborted: boolean;
      blockedMs: number;
    };
    operations++;
    outcome = await idempotency.execute(
      IdempotencyKey.parse(key),
      { operation: "POST /owner" },
      () => "never",
    );
    const replayed = outcome.kind === "replayed" ? outcome.response.text() : undefined;
    // Runs counted by the side effects themselves: the worker logs each start.
    const staleRuns = logLines(log).filter((line) => line.startsWith("started")).length;
    const duplicates = staleRuns + runs - 1;
    // The stale run is announced when its caller got a ClaimLostError.
    const announced = stale.kind === "claim-lost" ? 1 : 0;
    report({
      scenario: "stalled owner",
      operations,
      faults: { "owner stalled past its lease": stale.blockedMs > leaseMs ? 1 : 0 },
      duplicates,
      silent: Math.max(0, duplicates - announced),
      lost: replayed === acknowledged ? 0 : 1,
      note: `by design: a side effect that blocks its event loop past the lease cannot extend it, so the key is re-claimed and the side effect runs a second time; the stale owner blocked ${stale.blockedMs} ms with a ${leaseMs} ms lease, its call ended in ${stale.kind === "claim-lost" ? "a ClaimLostError" : stale.kind} and its signal ${stale.aborted ? "fired" : "did not fire"}`,
    });
    expect(stale).toEqual({ kind: "claim-lost", aborted: true, blockedMs: stale.blockedMs });
    expect(stale.blockedMs).toBeGreaterThan(leaseMs);
    expect(outcome.kind).toBe("replayed");
    expect(replayed).toBe("from the second owner");
    expect(runs).toBe(1);
    expect(staleRuns).toBe(1);
  }, 60_000);

  it("keeps a killed worker's key claimed until its lease ends, then exactly one run completes it", async () => {
    const key = `crashed-${Date.now()}`;
    const log = join(directory, `${key}.log`);
    const leaseMs = 1500;
    const { child, exited } = start(key, "hang", leaseMs, log);
    const claimingAt = Number((await waitFor(log, "claiming")).split(" ")[1]);
    await waitFor(log, "started");
    (child as ChildProcess).kill("SIGKILL");
    const { signal } = await exited;
    let runs = 0;
    let executedAt = 0;
    let inFlightAnswers = 0;
    let operations = 1; // the killed worker's call
    let acknowledged: string | undefined;
    for (;;) {
      operations++;
      const outcome = await idempotency.execute(
        IdempotencyKey.parse(key),
        { operation: "POST /owner" },
        () => {
          runs++;
          executedAt = Date.now();
          return "after the crash";
        },
      );
      if (outcome.kind === "executed") {
        acknowledged = outcome.response.text();
        break;
      }
      expect(outcome.kind).toBe("in-flight");
      inFlightAnswers++;
      await delay(50);
    }
    operations++;
    const again = await idempotency.execute(
      IdempotencyKey.parse(key),
      { operation: "POST /owner" },
      () => "never",
    );
    const replayed = again.kind === "replayed" ? again.response.text() : undefined;
    const killedRuns = logLines(log).filter((line) => line.startsWith("started")).length;
    const duplicates = killedRuns + runs - 1;
    report({
      scenario: "crashed worker",
      operations,
      faults: { "worker killed mid side effect": signal === "SIGKILL" ? killedRuns : 0 },
      duplicates,
      // The killed run's caller never got an answer: nobody was told it counted.
      silent: Math.max(0, runs - 1),
      lost: replayed === acknowledged ? 0 : 1,
      note: `the killed worker's side effect had started (it hung there, so it did nothing); ${inFlightAnswers} calls answered in-flight until the lease ended; claimable ${executedAt - claimingAt - leaseMs} ms after the lease could end at the earliest`,
    });
    expect(signal).toBe("SIGKILL");
    expect(killedRuns).toBe(1);
    // The worker's claim was taken after `claimingAt`, so its lease ends after claimingAt + lease.
    expect(executedAt).toBeGreaterThanOrEqual(claimingAt + leaseMs);
    expect(inFlightAnswers).toBeGreaterThan(3);
    expect(again.kind).toBe("replayed");
    expect(replayed).toBe("after the crash");
    expect(runs).toBe(1);
  }, 60_000);
});
