// Valkey/Redis store throughput against its floor (bare Lua scripts of the same shape, one
// EVALSHA per operation, through the same client) and other libraries, on a redis-server this
// benchmark starts. Run: npm run bench -- valkey
import { makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { CachePersistenceLayer } from "@aws-lambda-powertools/idempotency/cache";
import { Idempotency as NodeIdempotency } from "@node-idempotency/core";
import { RedisStorageAdapter } from "@node-idempotency/storage-adapter-redis";
import { Redis } from "ioredis";
import { createClient } from "redis";
import {
  CachedResponse,
  DefaultFingerprintStrategy,
  IdempotencyEntry,
  IdempotencyKey,
} from "../src/index.ts";
import { ValkeyStore } from "../src/stores/valkey/index.ts";
import {
  toValkeyConnection,
  type ValkeyConnection,
} from "../src/stores/valkey/valkey-connection.ts";
import { startServer } from "../test/servers/redis-server.ts";
import { describeEnvironment, formatCount, median } from "./environment.ts";

interface Target {
  readonly name: string;
  /** Claims a fresh key, runs nothing, stores the response. */
  cycle(key: string): Promise<void>;
  /** Reads the completed key back as a retry would. */
  replay(key: string): Promise<void>;
}

const fingerprint = DefaultFingerprintStrategy.compute("POST /orders", '{"sku":42}');
const response = CachedResponse.from({ id: 42, status: "created" }, { status: 201 });
const responseBody = Buffer.from(response.body);

function storeTarget(name: string, store: ValkeyStore): Target {
  const lease = { leaseTtlMs: 30_000 };
  const retention = { retentionTtlMs: 600_000 };
  return {
    name,
    cycle: async (id) => {
      const key = IdempotencyKey.parse(id);
      const result = await store.tryInsert(key, IdempotencyEntry.new(fingerprint), lease);
      if (result.kind !== "claimed") throw new Error("keys must be fresh");
      const outcome = await store.complete(
        key,
        result.entry.complete(response),
        result.fencingToken,
        retention,
      );
      if (outcome.kind !== "applied") throw new Error(outcome.kind);
    },
    replay: async (id) => {
      const result = await store.tryInsert(
        IdempotencyKey.parse(id),
        IdempotencyEntry.new(fingerprint),
        lease,
      );
      if (result.kind !== "exists") throw new Error("expected a completed entry");
    },
  };
}

// The floor: scripts of the same shape as the store's (the same reads and writes), with none
// of their checks or branches.
const floorClaim = `
local t = redis.call('TIME')
redis.call('HMGET', KEYS[1], 'v', 's', 'fp', 'tok', 'lease', 'st', 'h', 'b')
redis.call('HSET', KEYS[1], 'v', '1', 's', 'p', 'fp', ARGV[1], 'tok', t[1] .. t[2], 'lease', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, t[1] .. t[2]}`;
const floorComplete = `
redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'fp')
redis.call('HSET', KEYS[1], 's', 'c', 'st', ARGV[4], 'h', ARGV[5], 'b', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0`;
const floorRead = `
local t = redis.call('TIME')
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'fp', 'tok', 'lease', 'st', 'h', 'b')
record[9] = redis.call('PTTL', KEYS[1])
return record`;

async function floorTarget(name: string, connection: ValkeyConnection): Promise<Target> {
  const load = async (source: string) =>
    String(await connection.command(["SCRIPT", "LOAD", source]));
  const [claim, complete, read] = await Promise.all([
    load(floorClaim),
    load(floorComplete),
    load(floorRead),
  ]);
  const headers = JSON.stringify(response.headers);
  return {
    name,
    cycle: async (id) => {
      const keys = [`floor:{${id}}`];
      // The same arguments the store sends.
      await connection.evalsha(claim, keys, [fingerprint.hex, "30000", "1"]);
      await connection.evalsha(complete, keys, [
        "1732792800123456",
        fingerprint.hex,
        "600000",
        "201",
        headers,
        responseBody,
        "1",
      ]);
    },
    replay: async (id) => {
      await connection.evalsha(read, [`floor:{${id}}`], [fingerprint.hex, "30000", "1"]);
    },
  };
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

/** Runs the Valkey/Redis benchmark and returns its markdown report. */
export async function runValkeyBench(rounds = 3): Promise<string> {
  const server = await startServer({ binary: "redis-server" });
  const serverVersion =
    /redis_version:(\S+)/.exec(await server.cli("info", "server"))?.[0] ?? "redis-server";
  const ioredis = new Redis(server.port, "127.0.0.1");
  const nodeRedis = await createClient({ url: server.url }).connect();
  const others = [await nodeIdempotencyTarget(server.url), await powertoolsTarget(server.url)];
  const targets: Target[] = [
    storeTarget(
      "ValkeyStore via ioredis",
      new ValkeyStore({ client: ioredis, prefix: "bench-io" }),
    ),
    await floorTarget("floor: bare scripts via ioredis", toValkeyConnection(ioredis)),
    storeTarget(
      "ValkeyStore via node-redis",
      new ValkeyStore({ client: nodeRedis, prefix: "bench-nr" }),
    ),
    await floorTarget("floor: bare scripts via node-redis", toValkeyConnection(nodeRedis)),
    ...others.map(({ target }) => target),
  ];
  const results = new Map<string, { cycles: number[]; replays: number[] }>();
  let unique = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const concurrency of [1, 64]) {
        const count = concurrency === 1 ? 2_000 : 20_000;
        for (const target of targets) {
          const keys = Array.from({ length: count }, () => `bench-${process.pid}-${++unique}`);
          const cycles = await rate(keys, concurrency, (key) => target.cycle(key));
          const replays = await rate(keys, concurrency, (key) => target.replay(key));
          const id = `${target.name}|${concurrency}`;
          const entry = results.get(id) ?? { cycles: [], replays: [] };
          entry.cycles.push(cycles);
          entry.replays.push(replays);
          results.set(id, entry);
        }
      }
      await ioredis.flushall();
    }
  } finally {
    ioredis.disconnect();
    nodeRedis.destroy();
    await Promise.all(others.map(({ close }) => close()));
    await server.stop();
  }
  const value = (name: string, concurrency: number, field: "cycles" | "replays") =>
    median(results.get(`${name}|${concurrency}`)?.[field] ?? [0]);
  const rows: string[] = [];
  for (const concurrency of [1, 64]) {
    for (const target of targets) {
      const floorName =
        target.name.includes("node-redis") && !target.name.includes("Powertools")
          ? "floor: bare scripts via node-redis"
          : "floor: bare scripts via ioredis";
      const ratio = (field: "cycles" | "replays") =>
        target.name.startsWith("ValkeyStore")
          ? (value(target.name, concurrency, field) / value(floorName, concurrency, field)).toFixed(
              2,
            )
          : "";
      rows.push(
        `| ${concurrency} | ${target.name} | ${formatCount(value(target.name, concurrency, "cycles"))} | ${ratio("cycles")} | ${formatCount(value(target.name, concurrency, "replays"))} | ${ratio("replays")} |`,
      );
    }
  }
  return [
    "## Valkey/Redis store",
    "",
    `One redis-server on loopback started by the benchmark (no persistence). Median of ${rounds} rounds, targets interleaved; 2,000 fresh keys per measurement at concurrency 1, 20,000 at 64. A cycle is claim + complete; a replay reads the completed key back as a retry does. The floor runs bare Lua scripts with the same reads and writes as the store's (one EVALSHA per operation) through the same client; ratio = store / floor of the same client.`,
    "",
    "| in flight | implementation | cycles/s | ratio to floor | replays/s | ratio to floor |",
    "| ---: | --- | ---: | ---: | ---: | ---: |",
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
