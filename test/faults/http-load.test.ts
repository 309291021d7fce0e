// Scenario 10: several client processes send duplicate requests through the HTTP middleware
// to several server processes sharing one Redis; each key's handler must run exactly once.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startServer, type ServerProcess } from "../servers/redis-server.ts";
import { notApplicable, report } from "./scenario-report.ts";
import { delay } from "../../src/utils/delay.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));

describe("multi-process HTTP load", () => {
  let redis: ServerProcess;
  const apps: ChildProcess[] = [];
  const urls: string[] = [];
  beforeAll(async () => {
    redis = await startServer({ binary: "valkey-server" });
    for (const example of ["express", "fastify", "hono"]) {
      const port = await freePort();
      const app = spawn(process.execPath, ["--import", "tsx", `examples/${example}.ts`], {
        cwd: root,
        env: { ...process.env, PORT: String(port), REDIS_URL: redis.url },
        stdio: "ignore",
      });
      apps.push(app);
      urls.push(`http://127.0.0.1:${port}`);
    }
    for (const url of urls) {
      for (let tries = 0; ; tries++) {
        const up = await fetch(`${url}/stats`).then(
          (response) => response.ok,
          () => false,
        );
        if (up) break;
        if (tries > 300) throw new Error(`${url} did not start`);
        await delay(50);
      }
    }
  }, 60_000);
  afterAll(async () => {
    for (const app of apps) app.kill("SIGKILL");
    await redis.stop();
  });

  it("runs each key's handler exactly once across 3 servers and 3 clients", async () => {
    const keyCount = 300;
    const clients = await Promise.all(
      [0, 1, 2].map(() =>
        run(
          process.execPath,
          ["--import", "tsx", "test/faults/http-load-client.ts", String(keyCount), urls.join(",")],
          {
            cwd: root,
            timeout: 120_000,
          },
        ),
      ),
    );
    const answers = clients.map(
      ({ stdout }) =>
        JSON.parse(stdout) as {
          counts: Record<string, number>;
          bodies: Record<string, string>;
          executedKeys: string[];
        },
    );
    const counts = answers.map((answer) => answer.counts);
    const runs = await Promise.all(
      urls.map(
        async (url) =>
          ((await (await fetch(`${url}/stats`)).json()) as { orderHandlerRuns: number })
            .orderHandlerRuns,
      ),
    );
    const handlerRuns = runs.reduce((sum, count) => sum + count, 0);
    const requests = counts.reduce((sum, count) => sum + (count["requests"] ?? 0), 0);
    // Per key: the clients' first-run answers, and whether every client got the same body.
    const firstRuns = new Map<string, number>();
    for (const { executedKeys } of answers) {
      for (const key of executedKeys) firstRuns.set(key, (firstRuns.get(key) ?? 0) + 1);
    }
    const keys = Array.from({ length: keyCount }, (_, index) => `load-${index}`);
    const answeredTwice = keys.filter((key) => (firstRuns.get(key) ?? 0) > 1).length;
    const differing = keys.filter(
      (key) => new Set(answers.map(({ bodies }) => bodies[key])).size !== 1,
    ).length;
    report({
      scenario: "multi-process HTTP load (Express, Fastify and Hono servers, 3 client processes)",
      operations: requests,
      faults: notApplicable("load only, no fault injected"),
      duplicates: handlerRuns - keyCount,
      silent: answeredTwice,
      lost: differing,
      note: `handler runs per server ${JSON.stringify(runs)}; ${keys.filter((key) => firstRuns.get(key) === 1).length} of ${keyCount} keys answered as a first run exactly once; lost counts keys whose 201 body differed between clients; client answers ${JSON.stringify(counts)}`,
    });
    expect(handlerRuns).toBe(keyCount);
    expect(keys.every((key) => firstRuns.get(key) === 1)).toBe(true);
    expect(differing).toBe(0);
  }, 180_000);
});
