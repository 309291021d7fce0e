import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { notApplicable, report } from "./scenario-report.ts";

const worker = fileURLToPath(new URL("contention-worker.ts", import.meta.url));

type Counts = Record<"executed" | "replayed" | "in-flight" | "fingerprint-mismatch", number>;

/** Starts one contending process; `ready` settles once it is connected and waiting for "go". */
function startWorker(args: readonly string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", worker, ...args], {
    stdio: ["pipe", "pipe", "inherit"],
    timeout: 120_000,
  });
  const lines = createInterface({ input: child.stdout });
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<Counts>((resolve, reject) => {
    let counts: Counts | undefined;
    lines.on("line", (line) => {
      if (line === "ready") onReady();
      else counts = JSON.parse(line) as Counts;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0 && counts !== undefined) resolve(counts);
      else reject(new Error(`contention worker exited with ${code}`));
    });
  });
  // A worker that dies before its "ready" must not leave the barrier waiting.
  done.catch(() => undefined);
  return {
    ready: Promise.race([ready, done.then(() => undefined)]),
    done,
    go: () => child.stdin.end("go\n"),
  };
}

describe("contention across OS processes", () => {
  let server: ServerProcess;
  let directory: string;
  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    directory = mkdtempSync(join(tmpdir(), "idempotent-contention-"));
  });
  afterAll(async () => {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it("runs each of 1,000 keys' side effect exactly once among 4 processes x 64 claimers", async () => {
    const keyCount = 1000;
    const sideEffectMs = 2;
    const families = ["ioredis", "node-redis", "iovalkey", "ioredis"];
    const logs = families.map((_, index) => join(directory, `worker-${index}.log`));
    const workers = families.map((family, index) =>
      startWorker([
        String(server.port),
        family,
        String(keyCount),
        "64",
        String(sideEffectMs),
        logs[index] as string,
        String(index),
      ]),
    );
    // The barrier: no process claims before every process is connected and waiting.
    await Promise.all(workers.map((each) => each.ready));
    for (const each of workers) each.go();
    const counts = await Promise.all(workers.map((each) => each.done));

    const executions = new Map<string, number>();
    const executedBy = new Map<string, number>();
    logs.forEach((log, index) => {
      let lines: string[] = [];
      try {
        lines = readFileSync(log, "utf8").split("\n").filter(Boolean);
      } catch {
        // A worker that executed nothing has no log.
      }
      for (const key of lines) {
        executions.set(key, (executions.get(key) ?? 0) + 1);
        executedBy.set(key, index);
      }
    });
    // The stored response of every key names the process whose log holds the key.
    const raw = new Redis(server.port, "127.0.0.1");
    let misattributed = 0;
    try {
      const store = new ValkeyStore({ client: raw, prefix: "contention" });
      for (let index = 0; index < keyCount; index++) {
        const stored = await store.get(IdempotencyKey.parse(`key-${index}`));
        const body =
          stored?.entry.state === "completed"
            ? (JSON.parse(stored.entry.response.text()) as { worker?: string })
            : {};
        if (body.worker !== String(executedBy.get(`key-${index}`))) misattributed++;
      }
    } finally {
      raw.disconnect();
    }
    const duplicates = [...executions.values()].reduce((sum, count) => sum + count - 1, 0);
    const sum = (kind: keyof Counts) => counts.reduce((all, count) => all + count[kind], 0);
    // The processes really contended: claims found another process's claim in flight, and
    // every process won some keys.
    const inFlight = sum("in-flight");
    const minimumInFlight = 100;
    report({
      scenario: `contention across ${families.length} processes x 64 claimers`,
      operations: sum("executed") + sum("replayed") + inFlight + sum("fingerprint-mismatch"),
      faults: notApplicable("contention only, no fault injected"),
      duplicates,
      // No call can announce a lost claim here: any error fails the worker, and the test.
      silent: duplicates,
      lost: misattributed,
      note: `${executions.size} of ${keyCount} keys run; ${inFlight} claims met another process's claim in flight (at least ${minimumInFlight} required), ${sum("replayed")} replays; lost counts keys whose stored response does not name the process that ran it; answers per process ${JSON.stringify(counts)}`,
    });
    expect(executions.size).toBe(keyCount);
    expect([...executions.values()].every((count) => count === 1)).toBe(true);
    expect(sum("executed")).toBe(keyCount);
    expect(inFlight).toBeGreaterThanOrEqual(minimumInFlight);
    for (const count of counts) expect(count.executed).toBeGreaterThan(0);
    expect(misattributed).toBe(0);
  }, 180_000);
});
