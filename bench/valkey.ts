// Valkey/Redis store throughput against two floors (bare Lua scripts of the same shape, and
// the plain two-script hash floor, one EVALSHA per operation through the same client) and other
// libraries, with the server's time per operation, on a redis-server this benchmark starts.
// Run: npm run bench -- valkey. Instructions per operation in redis-server (callgrind):
// npx tsx -e 'import("./bench/valkey.ts").then((m) => m.countValkeyInstructions()).then(console.log)'

import { makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { CachePersistenceLayer } from "@aws-lambda-powertools/idempotency/cache";
import { Idempotency as NodeIdempotency } from "@node-idempotency/core";
import { RedisStorageAdapter } from "@node-idempotency/storage-adapter-redis";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { createClient } from "redis";
import {
  CachedResponse,
  DefaultFingerprintStrategy,
  IdempotencyEntry,
  IdempotencyKey,
} from "../src/index.ts";
import { ValkeyStore } from "../src/stores/valkey/index.ts";
import type { InsertResult } from "../src/core/insert-result.ts";
import {
  toValkeyConnection,
  type CommandArgument,
  type ValkeyConnection,
} from "../src/stores/valkey/valkey-connection.ts";
import { freePort, startServer, waitForPing } from "../test/servers/redis-server.ts";
import { describeEnvironment, formatCount, median } from "./environment.ts";

interface Target {
  readonly name: string;
  /** Claims a fresh key, runs nothing, stores the response. */
  cycle(key: string): Promise<void>;
  /** Reads the completed key back as a retry would. */
  replay(key: string): Promise<void>;
  /** The two halves of a cycle, where they can be run apart (for the instruction counts). */
  readonly halves?: CycleHalves;
}

interface CycleHalves {
  claim(key: string): Promise<unknown>;
  complete(key: string, claim: unknown): Promise<void>;
}

function fromHalves(name: string, halves: CycleHalves, replay: Target["replay"]): Target {
  return {
    name,
    cycle: async (key) => {
      await halves.complete(key, await halves.claim(key));
    },
    replay,
    halves,
  };
}

const fingerprint = DefaultFingerprintStrategy.compute("POST /orders", '{"sku":42}');
const response = CachedResponse.from({ id: 42, status: "created" }, { status: 201 });
const responseBody = Buffer.from(response.body);

function storeTarget(name: string, store: ValkeyStore): Target {
  const lease = { leaseTtlMs: 30_000 };
  const retention = { retentionTtlMs: 600_000 };
  return fromHalves(
    name,
    {
      claim: async (id) => {
        const result = await store.tryInsert(
          IdempotencyKey.parse(id),
          IdempotencyEntry.new(fingerprint),
          lease,
        );
        if (result.kind !== "claimed") throw new Error("keys must be fresh");
        return result;
      },
      complete: async (id, claim) => {
        const { entry, fencingToken } = claim as Extract<InsertResult, { kind: "claimed" }>;
        const outcome = await store.complete(
          IdempotencyKey.parse(id),
          entry.complete(response),
          fencingToken,
          retention,
        );
        if (outcome.kind !== "applied") throw new Error(outcome.kind);
      },
    },
    async (id) => {
      const result = await store.tryInsert(
        IdempotencyKey.parse(id),
        IdempotencyEntry.new(fingerprint),
        lease,
      );
      if (result.kind !== "exists") throw new Error("expected a completed entry");
    },
  );
}

/** Bare Lua scripts for claim, complete and replay: a floor the store is compared with. */
interface FloorScripts {
  readonly claim: string;
  readonly complete: string;
  readonly replay: string;
  /** Arguments of each script for a key (the same shape and sizes the store sends). */
  readonly keys: (id: string) => string[];
  readonly claimArgs: readonly CommandArgument[];
  readonly completeArgs: readonly CommandArgument[];
}

const completeTail = (() => {
  const headers = Buffer.from(JSON.stringify(response.headers));
  return Buffer.concat([
    Buffer.from(`${response.status}${String(headers.byteLength).padStart(10, "0")}`),
    headers,
    responseBody,
  ]);
})();

// The same-shape floor: scripts with the store's reads and writes (layout version 2) and none
// of its checks or branches.
const sameShapeFloor: FloorScripts = {
  claim: `
local t = redis.call('TIME')
redis.call('GET', KEYS[1])
local token = t[1] .. string.sub('00000' .. t[2], -6)
redis.call('SET', KEYS[1], '2p' .. token .. token .. ARGV[2] .. ARGV[1], 'PX', ARGV[3])
return token`,
  complete: `
local t = redis.call('TIME')
local record = redis.call('GETRANGE', KEYS[1], 0, 75)
redis.call('SET', KEYS[1], '2c' .. ARGV[1] .. t[1] .. string.sub('00000' .. t[2], -6) .. ARGV[3] .. ARGV[2] .. ARGV[5], 'PX', ARGV[4])
return 0`,
  replay: `
redis.call('TIME')
return redis.call('GET', KEYS[1])`,
  keys: (id) => [`floor:{${id}}`],
  claimArgs: [fingerprint.hex, "0000030000", "90000"],
  completeArgs: ["1732792800123456", fingerprint.hex, "0000600000", "660000", completeTail],
};

// The plain two-script floor: a hash, a counter for tokens, no checks (issue 13's reference).
const plainFloor: FloorScripts = {
  claim: `
redis.call('HMGET', KEYS[1], 's', 'tok')
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 's', 'p', 'fp', ARGV[1], 'tok', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token`,
  complete: `
redis.call('HGET', KEYS[1], 'tok')
redis.call('HSET', KEYS[1], 's', 'c', 'st', ARGV[2], 'h', ARGV[3], 'b', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0`,
  replay: `return redis.call('HGETALL', KEYS[1])`,
  // One counter for every key: a single server, as this benchmark runs.
  keys: (id) => [`plain:{${id}}`, "plain:tokens"],
  claimArgs: [fingerprint.hex, "90000"],
  completeArgs: ["660000", "201", JSON.stringify(response.headers), responseBody],
};

async function floorTarget(
  name: string,
  connection: ValkeyConnection,
  scripts: FloorScripts,
): Promise<Target> {
  const load = async (source: string) =>
    String(await connection.command(["SCRIPT", "LOAD", source]));
  const [claim, complete, replay] = await Promise.all([
    load(scripts.claim),
    load(scripts.complete),
    load(scripts.replay),
  ]);
  return fromHalves(
    name,
    {
      claim: (id) => connection.evalsha(claim, scripts.keys(id), scripts.claimArgs),
      complete: async (id) => {
        await connection.evalsha(complete, scripts.keys(id), scripts.completeArgs);
      },
    },
    async (id) => {
      await connection.evalsha(replay, scripts.keys(id), []);
    },
  );
}

async function nodeIdempotencyTarget(
  url: string,
): Promise<{ target: Target; close: () => Promise<void> }> {
  const adapter = new RedisStorageAdapter({ url });
  await adapter.connect();
  const idempotency = new NodeIdempotency(adapter, {});
  const request = (key: string) => ({
    method: "POST",
    path: "/orders",
    headers: { "idempotency-key": key },
    body: { sku: 42 },
  });
  return {
    target: {
      name: "@node-idempotency/core + storage-adapter-redis (SET NX / SET, no fencing)",
      cycle: async (key) => {
        const cached = await idempotency.onRequest(request(key));
        if (cached !== undefined) throw new Error("keys must be fresh");
        await idempotency.onResponse(request(key), { body: { id: 42, status: "created" } });
      },
      replay: async (key) => {
        if ((await idempotency.onRequest(request(key))) === undefined)
          throw new Error("expected a replay");
      },
    },
    close: () => adapter.disconnect(),
  };
}

async function powertoolsTarget(
  url: string,
): Promise<{ target: Target; close: () => Promise<void> }> {
  const client = await createClient({ url }).connect();
  const persistenceStore = new CachePersistenceLayer({ client: client });
  const handler = makeIdempotent(
    async (payload: { key: string }) => ({ id: payload.key, status: "created" }),
    {
      persistenceStore,
    },
  );
  return {
    target: {
      name: "@aws-lambda-powertools/idempotency CachePersistenceLayer (node-redis)",
      cycle: async (key) => {
        await handler({ key });
      },
      replay: async (key) => {
        await handler({ key });
      },
    },
    close: async () => {
      client.destroy();
    },
  };
}

async function rate(
  keys: readonly string[],
  concurrency: number,
  operation: (key: string) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) await operation(keys[next++] as string);
    }),
  );
  return keys.length / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Server time (µs) spent in commands since the last CONFIG RESETSTAT, from INFO commandstats. */
async function serverMicros(admin: Redis): Promise<number> {
  const stats = await admin.info("commandstats");
  let total = 0;
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) {
    // The measurement's own commands.
    if (match[1] !== "config" && match[1] !== "info") total += Number(match[2]);
  }
  return total;
}

interface Measured {
  readonly rates: number[];
  readonly micros: number[];
}

const plainFloorName = (client: string) => `floor: plain two scripts via ${client}`;
const sameShapeFloorName = (client: string) => `floor: same-shape scripts via ${client}`;

/** Runs the Valkey/Redis benchmark and returns its markdown report. */
export async function runValkeyBench(rounds = 3): Promise<string> {
  const server = await startServer({ binary: "redis-server" });
  const serverVersion =
    /redis_version:(\S+)/.exec(await server.cli("info", "server"))?.[0] ?? "redis-server";
  const ioredis = new Redis(server.port, "127.0.0.1");
  const admin = new Redis(server.port, "127.0.0.1");
  const nodeRedis = await createClient({ url: server.url }).connect();
  const others = [await nodeIdempotencyTarget(server.url), await powertoolsTarget(server.url)];
  const clients = [
    ["ioredis", ioredis, "bench-io"],
    ["node-redis", nodeRedis, "bench-nr"],
  ] as const;
  const targets: Target[] = [];
  for (const [client, instance, prefix] of clients) {
    const connection = toValkeyConnection(instance);
    targets.push(
      storeTarget(`ValkeyStore via ${client}`, new ValkeyStore({ client: instance, prefix })),
      await floorTarget(sameShapeFloorName(client), connection, sameShapeFloor),
      await floorTarget(plainFloorName(client), connection, plainFloor),
    );
  }
  targets.push(...others.map(({ target }) => target));
  const results = new Map<string, { cycles: Measured; replays: Measured }>();
  let unique = 0;
  const measure = async (into: Measured, keys: readonly string[], run: () => Promise<number>) => {
    await admin.config("RESETSTAT");
    into.rates.push(await run());
    into.micros.push((await serverMicros(admin)) / keys.length);
  };
  try {
    for (let round = 0; round < rounds; round++) {
      for (const concurrency of [1, 64]) {
        const count = concurrency === 1 ? 2_000 : 20_000;
        for (const target of targets) {
          const keys = Array.from({ length: count }, () => `bench-${process.pid}-${++unique}`);
          const id = `${target.name}|${concurrency}`;
          const entry = results.get(id) ?? {
            cycles: { rates: [], micros: [] },
            replays: { rates: [], micros: [] },
          };
          results.set(id, entry);
          await measure(entry.cycles, keys, () =>
            rate(keys, concurrency, (key) => target.cycle(key)),
          );
          await measure(entry.replays, keys, () =>
            rate(keys, concurrency, (key) => target.replay(key)),
          );
        }
      }
      await ioredis.flushall();
    }
  } finally {
    ioredis.disconnect();
    admin.disconnect();
    nodeRedis.destroy();
    await Promise.all(others.map(({ close }) => close()));
    await server.stop();
  }
  type Field = "cycles" | "replays";
  const value = (name: string, concurrency: number, field: Field, of: keyof Measured) =>
    median(results.get(`${name}|${concurrency}`)?.[field][of] ?? [0]);
  const rows: string[] = [];
  for (const concurrency of [1, 64]) {
    for (const target of targets) {
      const client = target.name.endsWith("node-redis") ? "node-redis" : "ioredis";
      const ratio = (field: Field, floor: string) =>
        target.name.startsWith("ValkeyStore")
          ? (
              value(target.name, concurrency, field, "rates") /
              value(floor, concurrency, field, "rates")
            ).toFixed(2)
          : "";
      const cells = (field: Field) => [
        formatCount(value(target.name, concurrency, field, "rates")),
        ratio(field, sameShapeFloorName(client)),
        ratio(field, plainFloorName(client)),
        value(target.name, concurrency, field, "micros").toFixed(1),
      ];
      rows.push(
        `| ${[concurrency, target.name, ...cells("cycles"), ...cells("replays")].join(" | ")} |`,
      );
    }
  }
  return [
    "## Valkey/Redis store",
    "",
    `One redis-server on loopback started by the benchmark (no persistence). Median of ${rounds} rounds, targets interleaved; 2,000 fresh keys per measurement at concurrency 1, 20,000 at 64. A cycle is claim + complete; a replay reads the completed key back as a retry does. Two floors, each one EVALSHA per operation through the same client: the same-shape floor runs bare scripts with the store's reads and writes (claim: TIME, GET, SET PX; complete: TIME, GETRANGE, SET PX; replay: TIME, GET) and none of its checks; the plain two-script floor is a hash and a token counter (claim: HMGET, INCR, HSET, PEXPIRE; complete: HGET, HSET, PEXPIRE; replay: HGETALL). Ratios are store / floor of the same client. Server µs: time the server spent in commands per cycle or replay (INFO commandstats after CONFIG RESETSTAT, every command but the measurement's own).`,
    "",
    "| in flight | implementation | cycles/s | ÷ same-shape floor | ÷ plain floor | server µs/cycle | replays/s | ÷ same-shape floor | ÷ plain floor | server µs/replay |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
    "",
    describeEnvironment([
      "ioredis",
      "redis",
      "@node-idempotency/core",
      "@aws-lambda-powertools/idempotency",
    ]),
    `- Server: ${serverVersion}`,
    "",
  ].join("\n");
}

const run = promisify(execFile);

/**
 * Instructions redis-server executes per claim, completion and replay (callgrind: immune to
 * machine noise), for the store and both floors, one operation at a time through ioredis.
 * Includes the fixed cost of receiving and answering an EVALSHA. Needs valgrind.
 */
export async function countValkeyInstructions(count = 500): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "valkey-callgrind-"));
  const port = await freePort();
  const valgrind = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      `--callgrind-out-file=${join(dir, "callgrind.out")}`,
      "redis-server",
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--dir", dir],
    ],
    { stdio: "ignore" },
  );
  let client: Redis | undefined;
  try {
    await waitForPing(port, 120_000);
    client = new Redis(port, "127.0.0.1");
    const pid = String(valgrind.pid);
    /** Dumps the counters, returning the instructions since the previous dump. */
    const dump = async (): Promise<number> => {
      const before = new Set(readdirSync(dir));
      await run("callgrind_control", ["-d", pid]);
      const file = readdirSync(dir).find((name) => !before.has(name) && name !== "callgrind.out");
      if (file === undefined) throw new Error("callgrind wrote no dump");
      const totals = /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, file), "utf8"));
      if (process.env["CALLGRIND_KEEP"] === undefined) rmSync(join(dir, file));
      else console.log(`kept ${join(dir, file)}`);
      return Number(totals?.[1]);
    };
    const connection = toValkeyConnection(client);
    const targets = [
      storeTarget("ValkeyStore", new ValkeyStore({ client, prefix: "callgrind" })),
      await floorTarget("floor: same-shape scripts", connection, sameShapeFloor),
      await floorTarget("floor: plain two scripts", connection, plainFloor),
    ];
    const rows: string[] = [];
    let unique = 0;
    for (const target of targets) {
      const halves = target.halves;
      if (halves === undefined) continue;
      const fresh = () => Array.from({ length: count }, () => `callgrind-${++unique}`);
      // Warm up: the scripts compiled, the server's buffers grown.
      for (const key of fresh()) await target.cycle(key);
      const keys = fresh();
      const claims: unknown[] = [];
      await dump();
      for (const key of keys) claims.push(await halves.claim(key));
      const claim = (await dump()) / count;
      for (const [index, key] of keys.entries()) await halves.complete(key, claims[index]);
      const complete = (await dump()) / count;
      for (const key of keys) await target.replay(key);
      const replay = (await dump()) / count;
      const k = (value: number) => `${(value / 1000).toFixed(1)}k`;
      rows.push(`| ${target.name} | ${k(claim)} | ${k(complete)} | ${k(replay)} |`);
    }
    return [
      `Instructions per operation in redis-server (callgrind), ${count} operations each, one at a time via ioredis:`,
      "",
      "| implementation | claim | complete | replay |",
      "| --- | ---: | ---: | ---: |",
      ...rows,
      "",
    ].join("\n");
  } finally {
    client?.disconnect();
    valgrind.kill("SIGTERM");
    await new Promise((resolve) => valgrind.once("exit", resolve));
    if (process.env["CALLGRIND_KEEP"] === undefined) rmSync(dir, { recursive: true, force: true });
  }
}
