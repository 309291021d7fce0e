// A store whose server is gone or stalled answers within its deadline with a typed error, for
// every client family, configured as the README recommends and with no options at all.
import { readFile } from "node:fs/promises";
import { Redis as Ioredis } from "ioredis";
import { Redis as Iovalkey } from "iovalkey";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { StoreError } from "../../src/errors/store-error.ts";
import { checkServerConfig } from "../../src/stores/valkey/check-server-config.ts";
import {
  toValkeyConnection,
  type ValkeyClient,
  type ValkeyConnection,
} from "../../src/stores/valkey/valkey-connection.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { countStoreCalls, notApplicable, report, total } from "./scenario-report.ts";
import { delay } from "../../src/utils/delay.ts";

const fingerprint = Fingerprint.fromHex("34".repeat(16));
const entry = () => IdempotencyEntry.new(fingerprint);

/** A client under test: how it was built, and how to tell it is connected again. */
interface BuiltClient {
  readonly client: ValkeyClient;
  /** The object that emits the client's events. */
  readonly emitter: object;
  /** Whether the application attached an `error` listener of its own, as the README says. */
  readonly listens: boolean;
  readonly ready: () => boolean;
  readonly listenerCount: () => number;
  close(): Promise<void>;
}

/** The client settings the README recommends, one per client family, and bare clients. */
const clientBuilders: Record<string, (url: string) => Promise<BuiltClient>> = {
  "ioredis as the README recommends": (url) => readmeIoredis(new Ioredis(url, readmeIoOptions)),
  "iovalkey as the README recommends": (url) =>
    readmeIoredis(new Iovalkey(url, readmeIoOptions) as unknown as Ioredis),
  "ioredis with no options": async (url) => {
    const client = new Ioredis(url);
    return {
      client,
      emitter: client,
      listens: false,
      ready: () => client.status === "ready",
      listenerCount: () => client.listenerCount("error"),
      close: async () => {
        client.disconnect();
      },
    };
  },
  "node-redis as the README recommends": async (url) => {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries) => Math.min(retries * 100, 2000),
      },
    });
    client.on("error", () => undefined); // the application logs these
    await client.connect();
    return nodeRedis(client, true);
  },
  "node-redis with no options and no error listener": async (url) =>
    nodeRedis(await createClient({ url }).connect(), false),
};

const readmeIoOptions = {
  lazyConnect: true,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false, // a write cut off by a disconnect is not sent again
  maxRetriesPerRequest: 1,
  connectTimeout: 2000,
};

async function readmeIoredis(client: Ioredis): Promise<BuiltClient> {
  await client.connect();
  client.on("error", () => undefined); // the application logs these
  return {
    client,
    emitter: client,
    listens: true,
    ready: () => client.status === "ready",
    listenerCount: () => client.listenerCount("error"),
    close: async () => {
      client.disconnect();
    },
  };
}

/** The part of a node-redis client the test uses. */
interface NodeRedisClient {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  destroy(): void;
  listenerCount(event: "error"): number;
}

function nodeRedis(client: NodeRedisClient & ValkeyClient, listens: boolean): BuiltClient {
  return {
    client,
    // node-redis hands out Object.create(client); the client underneath emits the events.
    emitter: Object.getPrototypeOf(client) as object,
    listens,
    ready: () => client.isReady,
    listenerCount: () => client.listenerCount("error"),
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

/** Counts the `error` events `target` emits from now on, listened to or not. */
function countErrorEvents(target: object): () => number {
  const emitter = target as { emit(event: string | symbol, ...args: unknown[]): boolean };
  const emit = emitter.emit.bind(emitter);
  let count = 0;
  emitter.emit = (event, ...args) => {
    if (event === "error") count++;
    return emit(event, ...args);
  };
  return () => count;
}

async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof StoreError)) {
    throw new Error(`expected a StoreError, got ${String(error)}`, { cause: error });
  }
  return error;
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await delay(20);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether the process is stopped (state T in /proc/<pid>/stat). */
/** Whether the process is stopped, waiting up to a second: a signal is delivered asynchronously. */
async function stopped(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return true;
    await delay(10);
  }
  return false;
}

// Anything a late reply or a client error event throws lands here instead of in a test.
const escaped: unknown[] = [];
const record = (error: unknown) => escaped.push(error);
beforeAll(() => {
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);
});
afterAll(() => {
  process.off("unhandledRejection", record);
  process.off("uncaughtException", record);
});

describe.each(Object.keys(clientBuilders))("a store through %s", (name) => {
  const build = clientBuilders[name] as (url: string) => Promise<BuiltClient>;
  let server: ServerProcess;
  let built: BuiltClient;
  let errorEvents: () => number;
  beforeEach(async () => {
    escaped.length = 0;
    server = await startServer({ binary: "redis-server" });
    built = await build(server.url);
    errorEvents = countErrorEvents(built.emitter);
  });
  afterEach(async () => {
    await built.close();
    await delay(100); // late rejections of what the client still held surface now
    if (alive(server.pid())) process.kill(server.pid(), "SIGCONT");
    await server.stop();
    expect(escaped).toEqual([]);
  });

  it("fails a claim within its deadline while the server is down, and claims once it is back", async () => {
    expect(built.listenerCount()).toBe(built.listens ? 1 : 0);
    const { store, calls } = countStoreCalls(
      new ValkeyStore({ client: built.client, prefix: "deadline" }),
    );
    // Without a listener of its own the client gets the store's, so `error` events cannot crash.
    expect(built.listenerCount()).toBe(1);
    expect((await store.tryInsert(IdempotencyKey.random(), entry())).kind).toBe("claimed");

    const pid = server.pid();
    const killedBy = await server.kill();
    expect(alive(pid)).toBe(false);
    await delay(1000); // the client notices and fails to reconnect meanwhile

    const attempts = 3;
    const elapsed: number[] = [];
    const kinds: string[] = [];
    const failed: IdempotencyKey[] = [];
    for (let attempt = 0; attempt < attempts; attempt++) {
      const key = IdempotencyKey.random();
      failed.push(key);
      const started = performance.now();
      const error = await failure(store.tryInsert(key, entry()));
      elapsed.push(performance.now() - started);
      kinds.push(error.kind);
      expect(["timeout", "connection"]).toContain(error.kind);
      expect(error.retryable).toBe(true);
      expect(error.operation).toBe("tryInsert");
      if (error.kind === "timeout") expect(error.ambiguous).toBe(true);
    }
    expect(Math.max(...elapsed)).toBeLessThan(2000 + 1000);
    // The events that crash a process whose client has no listener did happen.
    const events = errorEvents();
    expect(events).toBeGreaterThan(0);

    await server.restart();
    await waitUntil(built.ready, 20_000);
    expect((await store.tryInsert(IdempotencyKey.random(), entry())).kind).toBe("claimed");
    // No failed claim was applied later: one that failed fast was never queued, node-redis
    // withdraws a queued one whose deadline passed, and ioredis' offline queue sends its EVALSHA
    // once connected, but the restarted server answers NOSCRIPT and the store sends no EVAL for
    // a caller that gave up. (Against a server that kept its scripts, that claim would land.)
    const landed = (await Promise.all(failed.map((key) => store.get(key)))).filter(
      (stored) => stored !== undefined,
    ).length;
    expect(landed).toBe(0);
    report({
      scenario: `server killed, store through ${name}`,
      operations: total(calls),
      faults: { "server killed (SIGKILL)": killedBy === "SIGKILL" ? 1 : 0 },
      duplicates: notApplicable("store calls only, no side effect"),
      silent: notApplicable("store calls only, no side effect"),
      lost: notApplicable("no response stored before the kill"),
      note: `${attempts} claims failed (${kinds.join(", ")}) in at most ${Math.round(Math.max(...elapsed))} ms; the client emitted ${events} error events, ${built.listens ? "to its own listener" : "to the store's listener only"}; ${landed} failed claims were applied after the restart`,
    });
  }, 60_000);

  it("times every operation out on a paused server, writes as ambiguous, and a late claim lands", async () => {
    const timeoutMs = 500;
    const { store, calls } = countStoreCalls(
      new ValkeyStore({ client: built.client, prefix: "paused", operationTimeoutMs: timeoutMs }),
    );
    const owned = IdempotencyKey.random();
    const claim = await store.tryInsert(owned, entry());
    if (claim.kind !== "claimed") throw new Error("expected a claim");
    const late = IdempotencyKey.random();

    const pid = server.pid();
    process.kill(pid, "SIGSTOP");
    let paused: boolean;
    let sentWhilePaused: number;
    let timedOut = 0;
    try {
      paused = await stopped(pid);
      expect(paused).toBe(true);
      const started = performance.now();
      const whilePaused = {
        tryInsert: store.tryInsert(late, entry()),
        complete: store.complete(
          owned,
          claim.entry.complete(CachedResponse.from("done")),
          claim.fencingToken,
          { retentionTtlMs: 60_000 },
        ),
        touch: store.touch(owned, claim.fencingToken, { leaseTtlMs: 60_000 }),
        remove: store.remove(owned, claim.fencingToken),
        purge: store.purge(IdempotencyKey.random()),
        get: store.get(owned),
      };
      sentWhilePaused = Object.keys(whilePaused).length;
      const errors = await Promise.all(Object.values(whilePaused).map(failure));
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(elapsed).toBeLessThan(timeoutMs + 1000);
      for (const [index, operation] of Object.keys(whilePaused).entries()) {
        const error = errors[index] as StoreError;
        expect(error.operation).toBe(operation);
        expect(error.kind, operation).toBe("timeout");
        expect(error.retryable, operation).toBe(true);
        expect(error.ambiguous, operation).toBe(operation !== "get");
        if (error.kind === "timeout") timedOut++;
      }
      const findings = await checkServerConfig(built.client, { timeoutMs });
      expect(findings).toMatchObject([{ setting: "CONFIG GET", severity: "warning" }]);
      expect(findings[0]?.message).toContain(`no reply within ${timeoutMs} ms`);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // Why a timed-out write is ambiguous: the claim sat in the socket and the server ran it.
    await waitUntil(built.ready, 20_000);
    const landed = await store.get(late);
    expect(landed?.entry.state).toBe("processing");
    expect((await store.tryInsert(late, entry())).kind).toBe("exists");
    report({
      scenario: `server paused (SIGSTOP), store through ${name}`,
      operations: total(calls),
      faults: { "server paused (SIGSTOP)": paused ? 1 : 0 },
      duplicates: notApplicable("store calls only, no side effect"),
      silent: notApplicable("store calls only, no side effect"),
      lost: notApplicable("no response stored"),
      note: `${timedOut} of ${sentWhilePaused} operations sent while paused timed out after ${timeoutMs} ms; the timed-out claim was ${landed?.entry.state === "processing" ? "applied" : "not applied"} after SIGCONT`,
    });
  }, 60_000);
});

describe("deadlines around the EVAL fallback and WAIT", () => {
  let server: ServerProcess;
  let client: Ioredis;
  beforeAll(async () => {
    server = await startServer({ binary: "redis-server" });
    client = new Ioredis(server.url);
  });
  afterAll(async () => {
    client.disconnect();
    if (alive(server.pid())) process.kill(server.pid(), "SIGCONT");
    await server.stop();
  });
  beforeEach(async () => {
    await client.script("FLUSH");
    escaped.length = 0;
  });
  afterEach(() => {
    expect(escaped).toEqual([]);
  });

  /** The real connection, with hooks around its calls. */
  function instrumented(hooks: {
    afterEvalsha?: (error: unknown) => Promise<void>;
    beforeCommand?: () => void;
  }): { connection: ValkeyConnection; evals: () => number } {
    const real = toValkeyConnection(client);
    let evals = 0;
    return {
      evals: () => evals,
      connection: {
        cluster: false,
        evalsha: async (sha, keys, args, signal) => {
          try {
            return await real.evalsha(sha, keys, args, signal);
          } catch (error) {
            await hooks.afterEvalsha?.(error);
            throw error;
          }
        },
        eval: (source, keys, args, signal) => {
          evals++;
          return real.eval(source, keys, args, signal);
        },
        command: (args, signal) => {
          hooks.beforeCommand?.();
          return real.command(args, signal);
        },
      },
    };
  }

  it("counts EVALSHA and its EVAL fallback together against one deadline", async () => {
    const pid = server.pid();
    const { connection, evals } = instrumented({
      // The server stalls between NOSCRIPT and the fallback.
      afterEvalsha: async () => {
        process.kill(pid, "SIGSTOP");
      },
    });
    const store = new ValkeyStore({ client: connection, operationTimeoutMs: 400 });
    try {
      const started = performance.now();
      const error = await failure(store.tryInsert(IdempotencyKey.random(), entry()));
      expect(performance.now() - started).toBeLessThan(400 + 1000);
      expect(error).toMatchObject({ kind: "timeout", ambiguous: true, retryable: true });
      expect(evals()).toBe(1);
      expect(await stopped(pid)).toBe(true);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });

  it("sends no EVAL once the deadline has passed", async () => {
    const { connection, evals } = instrumented({
      // NOSCRIPT arrives only after the deadline.
      afterEvalsha: async () => {
        await delay(500);
      },
    });
    const store = new ValkeyStore({ client: connection, operationTimeoutMs: 200 });
    const error = await failure(store.tryInsert(IdempotencyKey.random(), entry()));
    expect(error.kind).toBe("timeout");
    await delay(500);
    expect(evals()).toBe(0);
  });

  it("gives WAIT its own timeout on top of the deadline", async () => {
    const pid = server.pid();
    let waits = 0;
    const { connection } = instrumented({
      // The claim is applied; the server stalls before WAIT.
      beforeCommand: () => {
        waits++;
        process.kill(pid, "SIGSTOP");
      },
    });
    const store = new ValkeyStore({
      client: connection,
      // Long enough for the claim script (EVALSHA, NOSCRIPT, EVAL) on a loaded machine: the
      // deadline under test is WAIT's.
      operationTimeoutMs: 1500,
      waitForReplicas: { replicas: 1, timeoutMs: 200 },
    });
    try {
      const started = performance.now();
      const error = await failure(store.tryInsert(IdempotencyKey.random(), entry()));
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({ kind: "timeout", ambiguous: true, retryable: true });
      expect(error.message).toContain("no reply within 1700 ms");
      expect(elapsed).toBeGreaterThanOrEqual(1695);
      expect(elapsed).toBeLessThan(1700 + 1500);
      expect(waits).toBe(1);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });
});
