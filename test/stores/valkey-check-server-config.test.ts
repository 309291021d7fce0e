// checkServerConfig against real servers: every finding it can report, its exact value,
// severity and message, through each client family and reply shape, on a single server and
// on each primary of a cluster.
import { Redis } from "ioredis";
import { createClient, RESP_TYPES } from "redis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { StoreError } from "../../src/errors/store-error.ts";
import {
  checkServerConfig,
  findingSeverities,
  type ServerConfigFinding,
} from "../../src/stores/valkey/check-server-config.ts";
import {
  toValkeyConnection,
  type ValkeyConnection,
} from "../../src/stores/valkey/valkey-connection.ts";
import { connect, connectCluster, type ConnectedClient } from "../servers/clients.ts";
import {
  startCluster,
  startServer,
  type ClusterProcess,
  type ServerProcess,
} from "../servers/redis-server.ts";

const noPersistence = "no persistence at all: a restart loses every claim and completion";
const snapshotsOnly =
  "without AOF a crash loses every claim and completion since the last RDB snapshot; a retry then runs the side effect again";
const evicting =
  "an evicting policy can drop a live claim or a completed response under memory pressure, so a retry runs the side effect again; set noeviction (writes then fail with a typed out-of-memory error instead)";
const everysec =
  "a crash of the server's machine, or a kill of the server process while a background fsync is slow, can lose the last second or two of acknowledged claims and completions (a lost completion lets its retry run again); appendfsync always closes that window at a throughput cost";
const osDecides =
  "the operating system decides when the AOF reaches disk: a machine crash can lose many seconds of writes";

describe("checkServerConfig on one server", () => {
  let server: ServerProcess;
  let raw: Redis;
  const clients: ConnectedClient[] = [];

  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    raw = new Redis(server.port, "127.0.0.1");
    for (const family of ["ioredis", "iovalkey", "node-redis"] as const) {
      clients.push(await connect(family, server.port));
    }
  });
  afterAll(async () => {
    raw.disconnect();
    for (const client of clients) await client.close();
    await server.stop();
  });
  beforeEach(async () => {
    await raw.config("SET", "maxmemory-policy", "noeviction");
    await raw.config("SET", "appendonly", "no");
    await raw.config("SET", "appendfsync", "always");
    await raw.config("SET", "save", "");
  });

  /** The findings through every client family, which must agree. */
  async function findings(): Promise<ServerConfigFinding[]> {
    const all = await Promise.all(clients.map((client) => checkServerConfig(client.client)));
    for (const [index, found] of all.entries()) {
      expect(found, clients[index]?.family).toEqual(all[0]);
    }
    return all[0] ?? [];
  }

  it("lists the severities from the most serious", () => {
    expect(findingSeverities).toEqual(["error", "warning", "info"]);
  });

  it("finds nothing on a server set up as recommended", async () => {
    await raw.config("SET", "appendonly", "yes");
    expect(await findings()).toEqual([]);
  });

  it("reports a server without any persistence", async () => {
    expect(await findings()).toEqual([
      { setting: "appendonly", value: "no", severity: "warning", message: noPersistence },
    ]);
  });

  it("reports a server with RDB snapshots only", async () => {
    await raw.config("SET", "save", "900 1");
    expect(await findings()).toEqual([
      { setting: "appendonly", value: "no", severity: "warning", message: snapshotsOnly },
    ]);
  });

  it("reports an evicting policy as an error, before the persistence findings", async () => {
    await raw.config("SET", "maxmemory-policy", "allkeys-lru");
    await raw.config("SET", "appendonly", "yes");
    await raw.config("SET", "appendfsync", "everysec");
    expect(await findings()).toEqual([
      { setting: "maxmemory-policy", value: "allkeys-lru", severity: "error", message: evicting },
      { setting: "appendfsync", value: "everysec", severity: "warning", message: everysec },
    ]);
  });

  it("reports an AOF the operating system flushes", async () => {
    await raw.config("SET", "appendonly", "yes");
    await raw.config("SET", "appendfsync", "no");
    expect(await findings()).toEqual([
      { setting: "appendfsync", value: "no", severity: "warning", message: osDecides },
    ]);
  });

  it("reads CONFIG GET as bulk-string Buffers and as a RESP3 Map", async () => {
    await raw.config("SET", "maxmemory-policy", "volatile-ttl");
    const buffers = new Redis(server.port, "127.0.0.1");
    const resp3 = createClient({ RESP: 3, socket: { port: server.port, host: "127.0.0.1" } });
    await resp3.connect();
    try {
      const ioredis = toValkeyConnection(buffers);
      // A connection of the caller's own whose replies are Buffers, as the store needs them.
      const connection: ValkeyConnection = {
        ...ioredis,
        command: (args) => buffers.callBuffer(args[0] ?? "", ...args.slice(1)),
      };
      const maps = resp3.withTypeMapping({ [RESP_TYPES.MAP]: Map });
      const expected = [
        {
          setting: "maxmemory-policy",
          value: "volatile-ttl",
          severity: "error",
          message: evicting,
        },
        { setting: "appendonly", value: "no", severity: "warning", message: noPersistence },
      ];
      expect(await checkServerConfig(connection)).toEqual(expected);
      expect(await checkServerConfig(maps)).toEqual(expected);
      expect(await checkServerConfig(resp3)).toEqual(expected);
    } finally {
      buffers.disconnect();
      resp3.destroy();
    }
  });

  it("reports every setting as unknown when the reply holds none", async () => {
    // Real replies that hold no configuration: PING's and a missing key's.
    for (const reply of [() => raw.call("PING"), () => raw.call("GET", "no-such-key")]) {
      const connection: ValkeyConnection = { ...toValkeyConnection(raw), command: reply };
      expect(await checkServerConfig(connection)).toEqual([
        { setting: "maxmemory-policy", value: "unknown", severity: "error", message: evicting },
        { setting: "appendonly", value: "unknown", severity: "warning", message: noPersistence },
      ]);
    }
  });

  it("warns, naming the cause, when the configuration cannot be read", async () => {
    await raw.call("ACL", "SETUSER", "limited", "on", ">secret", "~*", "+@all", "-config");
    const limited = new Redis({
      port: server.port,
      host: "127.0.0.1",
      username: "limited",
      password: "secret",
    });
    try {
      const [finding, ...rest] = await checkServerConfig(limited);
      expect(rest).toEqual([]);
      expect(finding).toMatchObject({
        setting: "CONFIG GET",
        value: "unknown",
        severity: "warning",
      });
      expect(finding?.message).toMatch(
        /^cannot read the configuration \(checkServerConfig: NOPERM .*config\|get.*\); check it by hand$/,
      );
      expect(finding && "node" in finding).toBe(false);
    } finally {
      limited.disconnect();
    }
  });

  it("fails with a StoreError when a cluster's primaries cannot be listed", async () => {
    // A connection of the caller's own whose listing fails on the server.
    const connection: ValkeyConnection = {
      ...toValkeyConnection(raw),
      cluster: true,
      primaries: async () => {
        await raw.call("CLUSTER", "SHARDS");
        return [];
      },
    };
    const error = await checkServerConfig(connection).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).kind).toBe("unknown");
    expect((error as StoreError).operation).toBe("checkServerConfig");
    expect((error as StoreError).message).toMatch(/^checkServerConfig: ERR .*cluster support/);
  });

  it("warns, or fails listing primaries, within its deadline when the server does not answer", async () => {
    const other = new Redis(server.port, "127.0.0.1");
    await other.ping();
    await raw.call("CLIENT", "PAUSE", "3000", "ALL");
    const listing: ValkeyConnection = {
      ...toValkeyConnection(other),
      cluster: true,
      primaries: async () => {
        await other.call("PING");
        return [];
      },
    };
    const started = Date.now();
    const [found, failed] = await Promise.all([
      checkServerConfig(clients[0]?.client ?? raw, { timeoutMs: 200 }),
      checkServerConfig(listing, { timeoutMs: 200 }).then(
        () => undefined,
        (caught: unknown) => caught,
      ),
    ]);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(found).toEqual([
      {
        setting: "CONFIG GET",
        value: "unknown",
        severity: "warning",
        message:
          "cannot read the configuration (checkServerConfig: no reply within 200 ms); check it by hand",
      },
    ]);
    expect(failed).toBeInstanceOf(StoreError);
    expect((failed as StoreError).kind).toBe("timeout");
    expect((failed as StoreError).message).toBe("checkServerConfig: no reply within 200 ms");
    await raw.call("CLIENT", "UNPAUSE");
    other.disconnect();
  });
});

describe("checkServerConfig on a cluster", () => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({ binary: "valkey-server" });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  it.each(["ioredis", "iovalkey", "node-redis"] as const)(
    "reports each primary's findings with its index via %s",
    async (family) => {
      const connected = await connectCluster(family, cluster.rootNodes);
      try {
        if (family === "ioredis" || family === "iovalkey") {
          // A Cluster lists its nodes once it has connected.
          await (connected.client as Redis).ping();
        }
        const connection = toValkeyConnection(connected.client);
        expect(connection.cluster).toBe(true);
        const found = await checkServerConfig(connected.client);
        expect(found).toEqual(
          [0, 1, 2].map((node) => ({
            setting: "appendonly",
            value: "no",
            severity: "warning",
            message: noPersistence,
            node,
          })),
        );
      } finally {
        await connected.close();
      }
    },
  );
});
