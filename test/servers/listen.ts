// Serves a Node request listener (an Express app) or a fetch handler on a free loopback port,
// for tests, examples checks and benchmarks.
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

export interface StartedServer {
  readonly url: string;
  close(): Promise<void>;
}

export function listenRequestListener(listener: RequestListener): Promise<StartedServer> {
  const server = createServer(listener);
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

export function serveFetch(
  fetchHandler: (request: Request) => Response | Promise<Response>,
): Promise<StartedServer> {
  return new Promise((resolve) => {
    const server = serve({ fetch: fetchHandler, port: 0, hostname: "127.0.0.1" }, (info) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise((done) => {
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}
