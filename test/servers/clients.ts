// Connects each supported client family to a test server or cluster.
import { Cluster as IoredisCluster, Redis as Ioredis } from "ioredis";
import { Cluster as IovalkeyCluster, Redis as Iovalkey } from "iovalkey";
import { createClient, createCluster } from "redis";
import type { ValkeyClient } from "../../src/stores/valkey/valkey-connection.ts";

export const clientFamilies = ["ioredis", "iovalkey", "node-redis"] as const;
export type ClientFamily = (typeof clientFamilies)[number];

export interface ConnectedClient {
  readonly family: ClientFamily;
  readonly client: ValkeyClient;
  close(): Promise<void>;
}

/** A client of `family` connected to the server on `port`. */
export async function connect(
  family: ClientFamily,
  port: number,
  options: { commandTimeoutMs?: number; retries?: number } = {},
): Promise<ConnectedClient> {
  if (family === "node-redis") {
    const client = createClient({
      socket: {
        port,
        host: "127.0.0.1",
        reconnectStrategy: () => 50,
      },
    });
    client.on("error", () => undefined);
    await client.connect();
    return {
      family,
      client,
      close: async () => {
        if (client.isOpen) client.destroy();
      },
    };
  }
  const settings = {
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: options.retries ?? 2,
    ...(options.commandTimeoutMs === undefined ? {} : { commandTimeout: options.commandTimeoutMs }),
    // Reconnect for as long as the test runs; `retries` bounds each command's wait instead.
    retryStrategy: () => 50,
  };
  const client = family === "ioredis" ? new Ioredis(settings) : new Iovalkey(settings);
  client.on("error", () => undefined);
  return {
    family,
    client,
    close: async () => {
      client.disconnect();
    },
  };
}

export const clusterFamilies = ["ioredis", "node-redis"] as const;

/** A cluster client of `family` for the given primaries. */
export async function connectCluster(
  family: (typeof clusterFamilies)[number] | "iovalkey",
  rootNodes: readonly { host: string; port: number }[],
): Promise<ConnectedClient> {
  if (family === "node-redis") {
    const cluster = createCluster({
      rootNodes: rootNodes.map((node) => ({ socket: { host: node.host, port: node.port } })),
    });
    cluster.on("error", () => undefined);
    await cluster.connect();
    return {
      family,
      client: cluster,
      close: async () => {
        cluster.destroy();
      },
    };
  }
  const cluster =
    family === "ioredis" ? new IoredisCluster([...rootNodes]) : new IovalkeyCluster([...rootNodes]);
  cluster.on("error", () => undefined);
  return {
    family,
    client: cluster,
    close: async () => {
      cluster.disconnect();
    },
  };
}
