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
    const exited = new Promise<string>((resolve) =>
      child.once("exit", () => {
        resolve(output);
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
    const stale = JSON.parse(await exited) as { kind: string; aborted: boolean };
    expect(stale).toEqual({ kind: "claim-lost", aborted: true });
    outcome = await idempotency.execute(
      IdempotencyKey.parse(key),
      { operation: "POST /owner" },
      () => "never",
    );
    expect(outcome.kind).toBe("replayed");
    if (outcome.kind === "replayed") expect(outcome.response.text()).toBe("from the second owner");
    expect(runs).toBe(1);
    report({
      scenario: "stalled owner",
      operations: 3,
      faults: 1,
      duplicates: 1,
      lost: 0,
      note: "by design: a side effect that blocks its event loop past the lease cannot extend it, so the key is re-claimed and the side effect runs a second time; the stale completion is rejected by fencing and its signal fires",
    });
  }, 60_000);

  it("keeps a killed worker's key claimed until its lease ends, then exactly one run completes it", async () => {
    const key = `crashed-${Date.now()}`;
    const log = join(directory, `${key}.log`);
    const leaseMs = 1500;
    const { child, exited } = start(key, "hang", leaseMs, log);
    const claimingAt = Number((await waitFor(log, "claiming")).split(" ")[1]);
    await waitFor(log, "started");
    (child as ChildProcess).kill("SIGKILL");
    await exited;
    let runs = 0;
    let executedAt = 0;
    let inFlightAnswers = 0;
    for (;;) {
      const outcome = await idempotency.execute(
        IdempotencyKey.parse(key),
        { operation: "POST /owner" },
        () => {
          runs++;
          executedAt = Date.now();
          return "after the crash";
        },
      );
      if (outcome.kind === "executed") break;
      expect(outcome.kind).toBe("in-flight");
      inFlightAnswers++;
      await delay(50);
    }
    // The worker's claim was taken after `claimingAt`, so its lease ends after claimingAt + lease.
    expect(executedAt).toBeGreaterThanOrEqual(claimingAt + leaseMs);
    expect(inFlightAnswers).toBeGreaterThan(3);
    const again = await idempotency.execute(
      IdempotencyKey.parse(key),
      { operation: "POST /owner" },
      () => "never",
    );
    expect(again.kind).toBe("replayed");
    expect(runs).toBe(1);
    report({
      scenario: "crashed worker",
      operations: inFlightAnswers + 2,
      faults: 1,
      duplicates: 0,
      lost: 0,
      note: `claimable ${executedAt - claimingAt - leaseMs} ms after the lease could end at the earliest`,
    });
  }, 60_000);
});
