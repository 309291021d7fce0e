import { afterAll, beforeAll, describe } from "vitest";
import { runStoreConformance } from "../../src/testing/store-conformance.ts";
import {
  clientFamilies,
  clusterFamilies,
  connect,
  connectCluster,
  type ConnectedClient,
} from "../servers/clients.ts";
import {
  serverBinaries,
  startCluster,
  startServer,
  type ClusterProcess,
  type ServerProcess,
} from "../servers/redis-server.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";

// One suite per server and client family: Redis 7 and Valkey 8, each through ioredis,
// iovalkey and node-redis; then a 3-primary cluster through each cluster client.
for (const binary of serverBinaries) {
  describe(binary, () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer({ binary });
    });
    afterAll(async () => {
      await server.stop();
    });

    for (const family of clientFamilies) {
      const clients: ConnectedClient[] = [];
      runStoreConformance({
        name: `ValkeyStore on ${binary} via ${family}`,
        createStore: async () => {
          const connected = await connect(family, server.port);
          clients.push(connected);
          return new ValkeyStore({ client: connected.client, prefix: `conformance-${family}` });
        },
        disposeStore: async () => {
          await clients.pop()?.close();
        },
        propertyRuns: 25,
      });
    }
  });
}

describe("redis-server cluster of 3 primaries", () => {
  let cluster: ClusterProcess;
  beforeAll(async () => {
    cluster = await startCluster({ binary: "redis-server" });
  }, 120_000);
  afterAll(async () => {
    await cluster.stop();
  });

  for (const family of clusterFamilies) {
    const clients: ConnectedClient[] = [];
    runStoreConformance({
      name: `ValkeyStore on a cluster via ${family}`,
      createStore: async () => {
        const connected = await connectCluster(family, cluster.rootNodes);
        clients.push(connected);
        return new ValkeyStore({ client: connected.client, prefix: `cluster-${family}` });
      },
      disposeStore: async () => {
        await clients.pop()?.close();
      },
      propertyRuns: 15,
    });
  }
});
