// The store's scripts as the server sees them: each one cached under the SHA-1 the store sends
// with EVALSHA, and only the read script allowed to run where writes are refused. The module is
// imported inside the tests, so a fault at its load fails a test here instead of leaving every
// importing file without tests.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";

const load = () => import("../../src/stores/valkey/scripts.ts");

describe("Valkey scripts on the server", () => {
  let server: ServerProcess;
  let raw: Redis;

  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    raw = new Redis(server.port, "127.0.0.1");
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  it("caches each script under the SHA-1 the store sends", async () => {
    const scripts = await load();
    const all = [
      scripts.claimScript,
      scripts.completeScript,
      scripts.touchScript,
      scripts.removeScript,
      scripts.getScript,
      scripts.purgeScript,
    ];
    for (const script of all) {
      expect(await raw.script("LOAD", script.source), script.name).toBe(script.sha);
    }
    expect(new Set(all.map((script) => script.sha)).size).toBe(all.length);
  });

  it("lets only the read script run on a server past its memory limit", async () => {
    const { claimScript, getScript, purgeScript } = await load();
    await raw.config("SET", "maxmemory", "1");
    try {
      // A key that does not exist: the get script's code for absent, with no write.
      expect(await raw.evalsha(getScript.sha, 1, "absent")).toBe(2);
      for (const script of [claimScript, purgeScript]) {
        await expect(raw.evalsha(script.sha, 1, "absent", "a", "b", "c")).rejects.toThrow(/^OOM /);
      }
    } finally {
      await raw.config("SET", "maxmemory", "0");
    }
  });

  it("lets only the read script run on a read-only replica", async () => {
    const { claimScript, getScript } = await load();
    const replica = await startServer({
      binary: "valkey-server",
      args: ["--replicaof", "127.0.0.1", String(server.port)],
    });
    const client = new Redis(replica.port, "127.0.0.1");
    try {
      expect(await client.eval(getScript.source, 1, "absent")).toBe(2);
      await expect(client.eval(claimScript.source, 1, "absent", "a", "b", "c")).rejects.toThrow(
        /READONLY/,
      );
    } finally {
      client.disconnect();
      await replica.stop();
    }
  });
});
