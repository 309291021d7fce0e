// Exactly-once under faults, for the PostgreSQL store's transactional completion: worker
// processes (postgres-chaos-worker.ts) claim the same keys and write one business row per
// execution in the transaction that completes the key. The business table has no unique
// constraint, so only the protocol keeps it to one row per key. Faults: kill -9 of workers
// (counted with the transactions they had open, read from pg_stat_activity just before),
// pg_terminate_backend of their connections, and a crash restart of the server
// (pg_ctl restart -m immediate). Every fault is counted and asserted against a minimum.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { guardPgPool, migrate } from "../../src/stores/postgres/index.ts";
import { startPostgres, type PostgresServer } from "../servers/postgres-server.ts";

const workerPath = fileURLToPath(new URL("./postgres-chaos-worker.ts", import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Worker {
  readonly name: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive: boolean;
}

interface Run {
  readonly acks: Map<string, string>;
  readonly stats: Record<string, number>[];
  readonly workers: Worker[];
  start(): Worker;
}

function newRun(url: string, keys: number, leaseTtlMs: number): Run {
  const acks = new Map<string, string>();
  const stats: Record<string, number>[] = [];
  const workers: Worker[] = [];
  let started = 0;
  const start = (): Worker => {
    const name = String((started += 1));
    const child = spawn(
      process.execPath,
      ["--import", "tsx", workerPath, url, String(keys), "32", String(leaseTtlMs), name],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let buffered = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ack ")) {
          const [, key, token] = line.split(" ");
          acks.set(key as string, token as string);
        } else if (line.startsWith("{")) {
          stats.push(JSON.parse(line) as Record<string, number>);
        }
      }
    });
    const worker: Worker = {
      name,
      pid: child.pid ?? 0,
      startedAt: Date.now(),
      alive: true,
      exited: new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          worker.alive = false;
          resolve({ code, signal });
        });
      }),
    };
    workers.push(worker);
    return worker;
  };
  return { acks, stats, workers, start };
}

async function allExited(run: Run, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (run.workers.some((worker) => worker.alive)) {
    if (Date.now() > deadline) {
      for (const worker of run.workers) if (worker.alive) process.kill(worker.pid, "SIGKILL");
      throw new Error("workers did not finish in time");
    }
    await sleep(100);
  }
}

/** The checks every run ends with: one business row per key, carrying its completion's token. */
async function verify(admin: pg.Pool, keys: number, acks: Map<string, string>): Promise<void> {
  const one = async (text: string) => Number((await admin.query<{ n: string }>(text)).rows[0]?.n);
  expect(await one("SELECT count(*) AS n FROM effects")).toBe(keys);
  expect(
    await one(
      "SELECT count(*) AS n FROM (SELECT key FROM effects GROUP BY key HAVING count(*) > 1) d",
    ),
  ).toBe(0);
  expect(
    await one(
      "SELECT count(*) AS n FROM idempotent.entries WHERE prefix = 'chaos' AND state = 'c'",
    ),
  ).toBe(keys);
  expect(
    await one(`SELECT count(*) AS n FROM effects f JOIN idempotent.entries e
                 ON e.prefix = 'chaos' AND e.key = f.key AND e.state = 'c' AND e.token::text = f.token`),
  ).toBe(keys);
  // Every completion acknowledged to a worker is there, with the token it was acknowledged with.
  const rows = (await admin.query("SELECT key, token FROM effects")).rows as {
    key: string;
    token: string;
  }[];
  const stored = new Map(rows.map((row) => [row.key, row.token]));
  let lost = 0;
  for (const [key, token] of acks) if (stored.get(key) !== token) lost += 1;
  expect(lost).toBe(0);
  expect(acks.size).toBeGreaterThan(0);
}

describe("PostgreSQL store: exactly-once business writes under faults", () => {
  let server: PostgresServer;
  let admin: pg.Pool;
  beforeAll(async () => {
    server = await startPostgres();
    admin = new pg.Pool({ connectionString: server.url, max: 2 });
    guardPgPool(admin);
    await migrate(admin);
    await admin.query("CREATE TABLE effects (key text NOT NULL, token text NOT NULL, worker text)");
  }, 120_000);
  afterAll(async () => {
    await admin.end();
    await server.stop();
  });

  it("keeps one business row per key through kill -9 of workers and terminated backends", async () => {
    const keys = 2000;
    const run = newRun(server.url, keys, 1500);
    for (let index = 0; index < 4; index += 1) run.start();
    const faults = {
      kills: 0,
      killsWithOpenTransactions: 0,
      openTransactionsKilled: 0,
      terminated: 0,
    };
    const phase = { stop: false };
    const terminations = (async () => {
      await sleep(1500);
      while (!phase.stop && faults.terminated < 60) {
        const { rows } = await admin.query<{ n: string }>(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM (
             SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'chaos-worker-%'
              ORDER BY random() LIMIT 3) s`,
        );
        faults.terminated += Number(rows[0]?.n ?? 0);
        await sleep(150);
      }
    })();
    // Let the workers start and open transactions before the first kill.
    for (let waited = 0; run.acks.size < 100 && waited < 60_000; waited += 50) await sleep(50);
    let waits = 0;
    while (faults.kills < 12) {
      // The victim: the live worker (up for a while, a replacement needs time to start) with
      // the most transactions open right now, read from the server.
      const { rows } = await admin.query<{ name: string; n: string }>(
        `SELECT application_name AS name, count(*) AS n FROM pg_stat_activity
          WHERE application_name LIKE 'chaos-worker-%' AND xact_start IS NOT NULL
            AND backend_type = 'client backend' GROUP BY application_name ORDER BY n DESC`,
      );
      const open = new Map(rows.map((row) => [row.name, Number(row.n)]));
      const live = run.workers
        .filter((worker) => worker.alive && Date.now() - worker.startedAt > 1500)
        .sort(
          (a, b) =>
            (open.get(`chaos-worker-${b.name}`) ?? 0) - (open.get(`chaos-worker-${a.name}`) ?? 0),
        );
      const victim = live[0];
      // Wait for a moment when the victim has transactions open (bounded: kills still count).
      if (
        victim === undefined ||
        ((open.get(`chaos-worker-${victim.name}`) ?? 0) === 0 && waits++ < 50)
      ) {
        await sleep(100);
        continue;
      }
      waits = 0;
      process.kill(victim.pid, "SIGKILL");
      await victim.exited;
      faults.kills += 1;
      const openInVictim = open.get(`chaos-worker-${victim.name}`) ?? 0;
      faults.openTransactionsKilled += openInVictim;
      if (openInVictim > 0) faults.killsWithOpenTransactions += 1;
      run.start(); // the replacement must itself see every key completed before it exits
      await sleep(150 + Math.random() * 250);
    }
    await allExited(run, 120_000);
    phase.stop = true;
    await terminations;
    console.log("postgres chaos faults", faults, "acks", run.acks.size);
    expect(faults.kills).toBeGreaterThanOrEqual(12);
    expect(faults.killsWithOpenTransactions).toBeGreaterThanOrEqual(5);
    expect(faults.terminated).toBeGreaterThanOrEqual(20);
    expect(run.workers.filter((worker) => worker.alive)).toHaveLength(0);
    await verify(admin, keys, run.acks);
  }, 180_000);

  it("loses no acknowledged completion and duplicates nothing across a crash restart of the server", async () => {
    await admin.query("TRUNCATE effects");
    await admin.query("DELETE FROM idempotent.entries");
    const keys = 1000;
    const run = newRun(server.url, keys, 1500);
    for (let index = 0; index < 4; index += 1) run.start();
    // Crash the server once a good part of the keys is acknowledged, so work is in flight.
    const deadline = Date.now() + 60_000;
    while (run.acks.size < 150 && Date.now() < deadline) await sleep(50);
    const acknowledgedBefore = run.acks.size;
    console.log("restarting the server after", acknowledgedBefore, "acknowledged completions");
    await server.restart("immediate");
    console.log("restarted");
    const restarts = 1;
    await allExited(run, 120_000);
    const errors = run.stats.reduce((sum, stat) => sum + (stat["errors"] ?? 0), 0);
    console.log("postgres restart", { restarts, acknowledgedBefore, errors, acks: run.acks.size });
    expect(restarts).toBe(1);
    expect(acknowledgedBefore).toBeGreaterThanOrEqual(150);
    expect(acknowledgedBefore).toBeLessThan(keys);
    expect(errors).toBeGreaterThanOrEqual(1); // the crash was seen by the workers
    await verify(admin, keys, run.acks);
  }, 180_000);
});
