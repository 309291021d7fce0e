// Starts real redis-server / valkey-server processes on free loopback ports for tests and
// benchmarks, and stops them by PID. Never touches the machine's shared server.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Server binaries the harness can start. */
export const serverBinaries = ["redis-server", "valkey-server"] as const;
export type ServerBinary = (typeof serverBinaries)[number];

export interface ServerOptions {
  readonly binary?: ServerBinary;
  /** Extra `--name value` arguments, e.g. `["--appendonly", "yes"]`. */
  readonly args?: readonly string[];
  /** Data directory; a fresh temporary one by default (removed on stop). */
  readonly dir?: string;
  /** A fixed port (e.g. to restart on the same one); a free one by default. */
  readonly port?: number;
}

export interface ServerProcess {
  readonly binary: ServerBinary;
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  pid(): number;
  /** Runs redis-cli / valkey-cli against this server and returns its output. */
  cli(...args: string[]): Promise<string>;
  /** SIGKILL, as a crash; resolves with the signal the process died of (null if it had exited). */
  kill(): Promise<NodeJS.Signals | null>;
  /** Starts the server again on the same port and directory. */
  restart(): Promise<void>;
  /** SIGTERM, waits for exit, removes the directory it created. */
  stop(): Promise<void>;
}

function cliFor(binary: ServerBinary): string {
  return binary === "valkey-server" ? "valkey-cli" : "redis-cli";
}

/** A loopback port that is free, and whose cluster bus port (+10000) is free too. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, "127.0.0.1", () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/** Resolves once the server answers PING with PONG. */
export async function waitForPing(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" });
      socket.setTimeout(500);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(data.toString().startsWith("+PONG"));
      });
      socket.once("error", () => {
        resolve(false);
      });
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (pong) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) =>
    child.once("exit", () => {
      resolve();
    }),
  );
}

/** Starts a server; stop it with `stop()`. */
export async function startServer(options: ServerOptions = {}): Promise<ServerProcess> {
  const binary = options.binary ?? "redis-server";
  const port = options.port ?? (await freePort());
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `idempotent-${binary}-`));
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--daemonize",
    "no",
    "--logfile",
    join(dir, "server.log"),
    ...(options.args ?? []),
  ];
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(binary, args, { stdio: "ignore" });
    child.once("error", () => undefined);
    await waitForPing(port);
  };
  await launch();
  return {
    binary,
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: () => child.pid ?? -1,
    cli: async (...cliArgs) =>
      (await run(cliFor(binary), ["-p", String(port), ...cliArgs])).stdout.trim(),
    kill: async () => {
      child.kill("SIGKILL");
      await exited(child);
      return child.signalCode;
    },
    restart: launch,
    stop: async () => {
      child.kill("SIGTERM");
      await exited(child);
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ClusterProcess {
  readonly nodes: readonly ServerProcess[];
  /** `{ host, port }` of every primary, for cluster clients. */
  readonly rootNodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Starts `primaries` cluster-enabled servers and joins them into one cluster (no replicas). */
export async function startCluster(
  options: { binary?: ServerBinary; primaries?: number } = {},
): Promise<ClusterProcess> {
  const binary = options.binary ?? "redis-server";
  const count = options.primaries ?? 3;
  const nodes: ServerProcess[] = [];
  for (let index = 0; index < count; index++) {
    nodes.push(
      await startServer({
        binary,
        args: ["--cluster-enabled", "yes", "--cluster-node-timeout", "5000", "--appendonly", "no"],
      }),
    );
  }
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  await run(cliFor(binary), ["--cluster", "create", ...addresses, "--cluster-yes"]);
  const deadline = Date.now() + 30_000;
  for (const node of nodes) {
    while (!(await node.cli("cluster", "info")).includes("cluster_state:ok")) {
      if (Date.now() > deadline) throw new Error("cluster did not reach cluster_state:ok");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    nodes,
    rootNodes: nodes.map((node) => ({ host: "127.0.0.1", port: node.port })),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}
