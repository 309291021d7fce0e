// toValkeyConnection and guardClientErrors on real clients: which adapter each client gets,
// the deadline signal reaching node-redis, a cluster's primaries, and the `error` listener.
import { Cluster, Redis } from "ioredis";
import { createClient, type RedisClusterType } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CachedResponse } from "../../src/core/cached-response.ts";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { guardClientErrors } from "../../src/stores/valkey/client-errors.ts";
import { getScript } from "../../src/stores/valkey/scripts.ts";
import {
  toValkeyConnection,
  type ValkeyClient,
  type ValkeyConnection,
} from "../../src/stores/valkey/valkey-connection.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connectCluster, type ConnectedClient } from "../servers/clients.ts";
import {
  startCluster,
  startServer,
  type ClusterProcess,
  type ServerProcess,
} from "../servers/redis-server.ts";

const fingerprint = Fingerprint.fromHex("56".repeat(16));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Claims, completes with a binary body and reads back through `store`. */
async function roundTrip(store: ValkeyStore): Promise<Buffer | undefined> {
  const key = IdempotencyKey.random();
  const claim = await store.tryInsert(key, IdempotencyEntry.new(fingerprint));
  if (claim.kind !== "claimed") throw new Error("expected a claim");
  const body = new Uint8Array([0, 255, 128, 10, 13, 0xc3]);
  const completed = claim.entry.complete(CachedResponse.from(body));
  expect((await store.complete(key, completed, claim.fencingToken)).kind).toBe("applied");
  const stored = await store.get(key);
  return stored?.entry.state === "completed" ? Buffer.from(stored.entry.response.body) : undefined;
}

describe("toValkeyConnection on one server", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("returns a connection of the caller's own unchanged", () => {
    const connection: ValkeyConnection = {
      cluster: false,
      evalsha: () => Promise.resolve(0),
      eval: () => Promise.resolve(0),
      command: () => Promise.resolve("OK"),
    };
    expect(toValkeyConnection(connection)).toBe(connection);
    expect(new ValkeyStore({ client: connection }).connection).toBe(connection);
  });

  it("adapts an ioredis client: no cluster, replies as Buffers, commands by name", async () => {
    const client = new Redis(server.port, "127.0.0.1");
    try {
      const connection = toValkeyConnection(client);
      expect(connection.cluster).toBe(false);
      expect(Object.keys(connection)).not.toContain("primaries");
      expect(await connection.command(["ECHO", "é"])).toBe("é");
      const reply = await connection.eval("return ARGV[1]", ["k"], [Buffer.from([0xff, 0])]);
      expect(reply).toEqual(Buffer.from([0xff, 0]));
      expect(await roundTrip(new ValkeyStore({ client }))).toEqual(
        Buffer.from([0, 255, 128, 10, 13, 0xc3]),
      );
    } finally {
      client.disconnect();
    }
  });

  it("adapts a node-redis client: no cluster, Buffers, and the deadline's signal honoured", async () => {
    const client = createClient({ socket: { port: server.port, host: "127.0.0.1" } });
    client.on("error", () => undefined);
    await client.connect();
    try {
      const connection = toValkeyConnection(client);
      expect(connection.cluster).toBe(false);
      expect(Object.keys(connection)).not.toContain("primaries");
      const live = new AbortController().signal;
      expect(await connection.command(["ECHO", "x"])).toBe("x");
      expect(await connection.command(["ECHO", "y"], live)).toBe("y");
      expect(await connection.eval("return ARGV[1]", ["k"], ["z"], live)).toEqual(Buffer.from("z"));
      expect(await connection.eval("return ARGV[1]", ["k"], ["z"])).toEqual(Buffer.from("z"));
      await connection.eval(getScript.source, ["k"], []);
      expect(await connection.evalsha(getScript.sha, ["k"], [], live)).toBe(2);
      expect(await connection.evalsha(getScript.sha, ["k"], [])).toBe(2);
      // An aborted signal withdraws the command: node-redis rejects it, nothing is sent.
      const aborted = AbortSignal.abort();
      for (const send of [
        () => connection.command(["SET", "sent", "1"], aborted),
        () => connection.eval("return redis.call('SET', 'sent', '1')", ["sent"], [], aborted),
        () => connection.evalsha(getScript.sha, ["sent"], [], aborted),
      ]) {
        expect(await rejection(send())).toBeInstanceOf(Error);
      }
      expect(await connection.command(["EXISTS", "sent"])).toBe(0);
      expect(await roundTrip(new ValkeyStore({ client }))).toEqual(
        Buffer.from([0, 255, 128, 10, 13, 0xc3]),
      );
    } finally {
      client.destroy();
    }
  });
});

describe("toValkeyConnection on a cluster", () => {
  let cluster: ClusterProcess;
  const clients: ConnectedClient[] = [];
  beforeAll(async () => {
    cluster = await startCluster({ binary: "valkey-server" });
    clients.push(await connectCluster("ioredis", cluster.rootNodes));
    clients.push(await connectCluster("node-redis", cluster.rootNodes));
    await (clients[0]?.client as Cluster).ping();
  }, 120_000);
  afterAll(async () => {
    for (const client of clients) await client.close();
    await cluster.stop();
  });

  it.each([0, 1])(
    "lists each primary once as a connection of its own (client %i)",
    async (index) => {
      const connection = toValkeyConnection(clients[index]?.client as ValkeyClient);
      expect(connection.cluster).toBe(true);
      const primaries = (await connection.primaries?.()) ?? [];
      const ports = await Promise.all(
        primaries.map(async (primary) => {
          expect(primary.cluster).toBe(false);
          const reply = await primary.command(["CONFIG", "GET", "port"]);
          return Number(Array.isArray(reply) ? reply[1] : (reply as { port: string }).port);
        }),
      );
      expect(ports.sort()).toEqual(cluster.nodes.map((node) => node.port).sort());
    },
  );

  it("runs commands through a node-redis cluster, with and without the deadline's signal", async () => {
    const client = clients[1]?.client as RedisClusterType;
    const connection = toValkeyConnection(client);
    expect(await connection.command(["PING"])).toBe("PONG");
    expect(await connection.command(["PING"], new AbortController().signal)).toBe("PONG");
    expect(await rejection(connection.command(["PING"], AbortSignal.abort()))).toBeInstanceOf(
      Error,
    );
  });

  it.each([0, 1])("round-trips bytes through a store on cluster client %i", async (index) => {
    const store = new ValkeyStore({ client: clients[index]?.client as ValkeyClient });
    expect(await roundTrip(store)).toEqual(Buffer.from([0, 255, 128, 10, 13, 0xc3]));
  });
});

describe("guardClientErrors", () => {
  it("gives a client without an error listener one, once, so an error event cannot crash", () => {
    for (const client of [
      createClient({ socket: { port: 1 } }),
      new Redis({ port: 1, lazyConnect: true }),
    ]) {
      expect(client.listenerCount("error")).toBe(0);
      expect(guardClientErrors(client as ValkeyClient)).toBe(true);
      expect(client.listenerCount("error")).toBe(1);
      expect(guardClientErrors(client as ValkeyClient)).toBe(false);
      expect(client.listenerCount("error")).toBe(1);
      expect(() => client.emit("error", new Error("connection lost"))).not.toThrow();
    }
  });

  it("leaves a client with a listener of its own alone", () => {
    const client = createClient({ socket: { port: 1 } });
    const own = (): void => undefined;
    client.on("error", own);
    expect(guardClientErrors(client)).toBe(false);
    expect(client.listeners("error")).toEqual([own]);
  });

  it("is applied by the store's constructor", () => {
    const client = createClient({ socket: { port: 1 } });
    new ValkeyStore({ client });
    expect(client.listenerCount("error")).toBe(1);
  });

  it("leaves a client that is no EventEmitter alone", () => {
    const connection: ValkeyConnection = {
      cluster: false,
      evalsha: () => Promise.resolve(0),
      eval: () => Promise.resolve(0),
      command: () => Promise.resolve("OK"),
    };
    expect(guardClientErrors(connection)).toBe(false);
    // Half an emitter: `on` without `listenerCount`, or the reverse.
    let added = 0;
    const onOnly = { ...connection, on: () => added++ };
    const countOnly = { ...connection, listenerCount: () => 0 };
    expect(guardClientErrors(onOnly)).toBe(false);
    expect(guardClientErrors(countOnly)).toBe(false);
    expect(added).toBe(0);
  });
});
