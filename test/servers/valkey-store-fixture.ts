// A ValkeyStore on a redis-server of its own, for suites that run against every store.
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { connect, type ConnectedClient } from "./clients.ts";
import { startServer, type ServerProcess } from "./redis-server.ts";

export interface ValkeyStoreFixture {
  readonly setup: () => Promise<void>;
  readonly teardown: () => Promise<void>;
  readonly createStore: () => ValkeyStore;
}

export function valkeyStoreFixture(prefix: string): ValkeyStoreFixture {
  let server: ServerProcess | undefined;
  let client: ConnectedClient | undefined;
  return {
    setup: async () => {
      server = await startServer({ binary: "redis-server" });
      client = await connect("ioredis", server.port);
    },
    teardown: async () => {
      await client?.close();
      await server?.stop();
    },
    createStore: () => {
      if (client === undefined) throw new Error("the fixture is not set up");
      return new ValkeyStore({ client: client.client, prefix });
    },
  };
}
