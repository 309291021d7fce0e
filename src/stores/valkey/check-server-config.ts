import { validateDeadlineMs, withDeadline } from "../../utils/deadline.ts";
import { deadlineError, toStoreError } from "./to-store-error.ts";
import {
  toValkeyConnection,
  type ValkeyClient,
  type ValkeyConnection,
} from "./valkey-connection.ts";

/** How serious a finding is. */
export const findingSeverities = ["error", "warning", "info"] as const;
export type FindingSeverity = (typeof findingSeverities)[number];

/** One risky server setting. */
export interface ServerConfigFinding {
  /** The configuration parameter, e.g. `maxmemory-policy`. */
  readonly setting: string;
  /** Its value on the server (`unknown` when it could not be read). */
  readonly value: string;
  /** `error`: the at-most-once guarantee can break; `warning`: completed or claimed keys can be lost on a crash; `info`: a trade-off to know. */
  readonly severity: FindingSeverity;
  readonly message: string;
  /** Which primary, on a cluster (its index in the client's list). */
  readonly node?: number;
}

/** Options of {@link checkServerConfig}. */
export interface CheckServerConfigOptions {
  /** How long each server may take to answer, in milliseconds; 2000 by default. */
  readonly timeoutMs?: number;
}

const settings = ["maxmemory-policy", "appendonly", "appendfsync", "save"] as const;
const operation = "checkServerConfig";

function toRecord(reply: unknown): Map<string, string> {
  const values = new Map<string, string>();
  const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString() : String(value));
  if (Array.isArray(reply)) {
    for (let index = 0; index + 1 < reply.length; index += 2) {
      values.set(text(reply[index]), text(reply[index + 1]));
    }
  } else if (reply instanceof Map) {
    for (const [name, value] of reply) values.set(text(name), text(value));
  } else if (typeof reply === "object" && reply !== null) {
    for (const [name, value] of Object.entries(reply)) values.set(name, text(value));
  }
  return values;
}

async function checkNode(
  connection: ValkeyConnection,
  timeoutMs: number,
  node?: number,
): Promise<ServerConfigFinding[]> {
  const at = node === undefined ? {} : { node };
  let config: Map<string, string>;
  try {
    const reply = await withDeadline(
      timeoutMs,
      (deadline) => connection.command(["CONFIG", "GET", ...settings], deadline.signal),
      () => deadlineError(operation, timeoutMs),
    );
    config = toRecord(reply);
  } catch (error) {
    return [
      {
        setting: "CONFIG GET",
        value: "unknown",
        severity: "warning",
        message: `cannot read the configuration (${toStoreError(error, operation).message}); check it by hand`,
        ...at,
      },
    ];
  }
  const findings: ServerConfigFinding[] = [];
  const policy = config.get("maxmemory-policy") ?? "unknown";
  if (policy !== "noeviction") {
    findings.push({
      setting: "maxmemory-policy",
      value: policy,
      severity: "error",
      message:
        "an evicting policy can drop a live claim or a completed response under memory pressure, so a retry runs the side effect again; set noeviction (writes then fail with a typed out-of-memory error instead)",
      ...at,
    });
  }
  const appendonly = config.get("appendonly") ?? "unknown";
  const appendfsync = config.get("appendfsync") ?? "unknown";
  if (appendonly !== "yes") {
    const snapshots = (config.get("save") ?? "") !== "";
    findings.push({
      setting: "appendonly",
      value: appendonly,
      severity: "warning",
      message: snapshots
        ? "without AOF a crash loses every claim and completion since the last RDB snapshot; a retry then runs the side effect again"
        : "no persistence at all: a restart loses every claim and completion",
      ...at,
    });
  } else if (appendfsync === "everysec") {
    findings.push({
      setting: "appendfsync",
      value: appendfsync,
      severity: "warning",
      message:
        "a crash of the server's machine, or a kill of the server process while a background fsync is slow, can lose the last second or two of acknowledged claims and completions (a lost completion lets its retry run again); appendfsync always closes that window at a throughput cost",
      ...at,
    });
  } else if (appendfsync !== "always") {
    findings.push({
      setting: "appendfsync",
      value: appendfsync,
      severity: "warning",
      message:
        "the operating system decides when the AOF reaches disk: a machine crash can lose many seconds of writes",
      ...at,
    });
  }
  return findings;
}

/**
 * Reads the server's configuration (each primary's, on a cluster) and reports every setting
 * that weakens the store's guarantees. An empty list means none was found. A server that does
 * not answer within `timeoutMs` gets a `warning` finding instead; listing a cluster's primaries
 * within it fails with a `StoreError`.
 *
 * @example
 * ```ts
 * const findings = await checkServerConfig(redis);
 * for (const finding of findings) logger[finding.severity === "error" ? "error" : "warn"](finding.message);
 * if (findings.some((finding) => finding.severity === "error")) process.exit(1);
 * ```
 */
export async function checkServerConfig(
  client: ValkeyClient,
  options: CheckServerConfigOptions = {},
): Promise<ServerConfigFinding[]> {
  const timeoutMs = validateDeadlineMs(options.timeoutMs ?? 2000, "timeoutMs");
  const connection = toValkeyConnection(client);
  if (connection.primaries === undefined) return checkNode(connection, timeoutMs);
  const nodes = await withDeadline(
    timeoutMs,
    async () => {
      try {
        return await (connection.primaries?.() ?? []);
      } catch (error) {
        throw toStoreError(error, operation);
      }
    },
    () => deadlineError(operation, timeoutMs),
  );
  const findings = await Promise.all(
    nodes.map((primary, index) => checkNode(primary, timeoutMs, index)),
  );
  return findings.flat();
}
