import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { notApplicable, report } from "./scenario-report.ts";

const run = promisify(execFile);
const worker = fileURLToPath(new URL("contention-worker.ts", import.meta.url));

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
    const families = ["ioredis", "node-redis", "iovalkey", "ioredis"];
    const startAt = Date.now() + 3000; // all processes start claiming together
    const logs = families.map((_, index) => join(directory, `worker-${index}.log`));
    const results = await Promise.all(
      families.map((family, index) =>
        run(
          process.execPath,
          [
            "--import",
            "tsx",
            worker,
            String(server.port),
            family,
            String(keyCount),
            "64",
            String(startAt),
            logs[index] as string,
            String(index),
          ],
          { timeout: 120_000 },
        ),
      ),
    );
    const counts = results.map(({ stdout }) => JSON.parse(stdout) as Record<string, number>);
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
      const pipeline = raw.pipeline();
      for (let index = 0; index < keyCount; index++)
        pipeline.hget(`contention:{key-${index}}`, "b");
      const replies = (await pipeline.exec()) ?? [];
      replies.forEach(([, body], index) => {
        const stored = JSON.parse(typeof body === "string" ? body : "{}") as { worker?: string };
        if (stored.worker !== String(executedBy.get(`key-${index}`))) misattributed++;
      });
    } finally {
      raw.disconnect();
    }
    const duplicates = [...executions.values()].reduce((sum, count) => sum + count - 1, 0);
    // The processes really contended: some claims found the key taken. (A process that starts
    // late on a loaded machine may find every key done, so this is not asked of each one.)
    const contended = counts.reduce(
      (sum, count) => sum + (count["replayed"] ?? 0) + (count["in-flight"] ?? 0),
      0,
    );
    report({
      scenario: `contention across ${families.length} processes x 64 claimers`,
      operations: counts.reduce(
        (sum, count) => sum + Object.values(count).reduce((all, each) => all + each, 0),
        0,
      ),
      faults: notApplicable("contention only, no fault injected"),
      duplicates,
      // No call can announce a lost claim here: any error fails the worker, and the test.
      silent: duplicates,
      lost: misattributed,
      note: `${executions.size} of ${keyCount} keys run; ${contended} claims found the key taken (replayed or in-flight); lost counts keys whose stored response does not name the process that ran it; answers per process ${JSON.stringify(counts)}`,
    });
    expect(executions.size).toBe(keyCount);
    expect([...executions.values()].every((count) => count === 1)).toBe(true);
    expect(counts.reduce((sum, count) => sum + (count["executed"] ?? 0), 0)).toBe(keyCount);
    expect(contended).toBeGreaterThan(0);
    expect(misattributed).toBe(0);
  }, 180_000);
});
