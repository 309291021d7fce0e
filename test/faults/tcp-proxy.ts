// A loopback TCP proxy the test controls: it forwards bytes between clients and a server and,
// on request, cuts connections at chosen points, including after a command reached the server
// but before its reply reached the client (an ambiguous outcome).
import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";

/** How a connection is broken. */
export const faultKinds = ["drop-request", "drop-reply", "stall", "half-close"] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface TcpProxy {
  readonly port: number;
  /** Breaks the next chunk crossing a connection in the way given. */
  inject(kind: FaultKind): void;
  /** Forgets faults not yet applied. */
  clear(): void;
  /** Faults injected so far, by kind. */
  readonly injected: Record<FaultKind, number>;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const pending: FaultKind[] = [];
  const injected: Record<FaultKind, number> = {
    "drop-request": 0,
    "drop-reply": 0,
    stall: 0,
    "half-close": 0,
  };
  const take = (kinds: readonly FaultKind[]): FaultKind | undefined => {
    const index = pending.findIndex((kind) => kinds.includes(kind));
    if (index === -1) return undefined;
    const [kind] = pending.splice(index, 1);
    if (kind !== undefined) injected[kind]++;
    return kind;
  };
  const server: Server = createServer((client) => {
    const upstream = connect({ port: targetPort, host: "127.0.0.1" });
    sockets.add(client);
    sockets.add(upstream);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk) => {
      const fault = take(["drop-request", "stall", "half-close"]);
      if (fault === "drop-request") {
        destroy(); // the command never reaches the server
      } else if (fault === "stall") {
        // The whole stream stalls, later chunks included: TCP never reorders bytes.
        client.pause();
        setTimeout(() => {
          if (!upstream.destroyed) upstream.write(chunk);
          client.resume();
        }, 1500);
      } else if (fault === "half-close") {
        upstream.write(chunk);
        client.end(); // no more replies reach the client
      } else {
        upstream.write(chunk);
      }
    });
    upstream.on("data", (chunk) => {
      if (take(["drop-reply"]) === "drop-reply") {
        destroy(); // the server ran the command; its reply is lost
        return;
      }
      if (!client.destroyed && client.writable) client.write(chunk);
    });
    client.on("error", destroy);
    upstream.on("error", destroy);
    client.on("close", () => {
      upstream.destroy();
      sockets.delete(client);
    });
    upstream.on("close", () => {
      client.destroy();
      sockets.delete(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    inject: (kind) => {
      pending.push(kind);
    },
    injected,
    clear: () => {
      pending.length = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
