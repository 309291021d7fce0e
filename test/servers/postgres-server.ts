// Starts a real PostgreSQL server (initdb + pg_ctl) on a free loopback port in a temporary
// directory, for tests and benchmarks, and stops it by pg_ctl (then by PID). Never touches the
// machine's shared server. As root, initdb and the server run as the `postgres` user.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./redis-server.ts";

const run = promisify(execFile);

/** initdb's directory: on the PATH, else Debian's /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string {
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    if (dir !== "" && existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl")))
      return dir;
  }
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const dir = join(root, version, "bin");
      if (existsSync(join(dir, "initdb"))) return dir;
    }
  }
  throw new Error("initdb and pg_ctl not found: install Debian's postgresql package");
}

export interface PostgresServerOptions {
  /** Extra server settings, e.g. `{ synchronous_commit: "off" }`. */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface PostgresServer {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly dir: string;
  /** The postmaster's PID. */
  pid(): number;
  /** `pg_ctl restart -m <mode>`; `immediate` is a crash (recovery from WAL on start). */
  restart(mode?: "fast" | "immediate"): Promise<void>;
  /** `pg_ctl stop -m fast` (SIGKILL by PID if that fails), then removes the directory. */
  stop(): Promise<void>;
}

const asRoot = process.getuid?.() === 0;

async function pgCtl(bin: string, args: readonly string[]): Promise<string> {
  const command = join(bin, "pg_ctl");
  const { stdout } = asRoot
    ? await run("runuser", ["-u", "postgres", "--", command, ...args])
    : await run(command, [...args]);
  return stdout;
}

/** Starts a fresh server; resolves once it accepts connections. */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), "idempotent-pg-"));
  const data = join(dir, "data");
  if (asRoot)
    chownSync(
      dir,
      Number((await run("id", ["-u", "postgres"])).stdout.trim()),
      Number((await run("id", ["-g", "postgres"])).stdout.trim()),
    );
  const initdb = [
    join(bin, "initdb"),
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "--no-sync",
    "-E",
    "UTF8",
    "--locale=C",
  ];
  if (asRoot) await run("runuser", ["-u", "postgres", "--", ...initdb]);
  else await run(initdb[0] as string, initdb.slice(1));
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    port: String(port),
    max_connections: "200",
    shared_buffers: "64MB",
    fsync: "on",
    synchronous_commit: "on",
    ...options.settings,
  };
  const serverOptions = Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value === "" ? "''" : value}`)
    .join(" ");
  const ctl = (...args: string[]) => pgCtl(bin, ["-D", data, "-w", "-t", "60", ...args]);
  await ctl("-o", serverOptions, "-l", join(dir, "server.log"), "start");
  const pid = () => Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    pid,
    restart: async (mode = "fast") => {
      // -l again: without it the new server would hold our stdout pipe open forever.
      await ctl("-m", mode, "-o", serverOptions, "-l", join(dir, "server.log"), "restart");
    },
    stop: async () => {
      try {
        await ctl("-m", "fast", "stop");
      } catch {
        try {
          process.kill(pid(), "SIGKILL");
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
