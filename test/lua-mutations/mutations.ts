// Mutations of the Valkey store's Lua scripts, and a connection that runs a store on mutated
// scripts without changing the store: it swaps each script's source in EVAL and its SHA in
// EVALSHA. test/lua-mutations.test.ts checks that every mutation makes a real test fail.
import { createHash } from "node:crypto";
import * as scripts from "../../src/stores/valkey/scripts.ts";
import type { Script } from "../../src/stores/valkey/scripts.ts";
import type { ValkeyConnection } from "../../src/stores/valkey/valkey-connection.ts";

const { scriptCodes } = scripts;

/** The store's scripts, by name: every exported {@link Script} of scripts.ts. */
export const originalScripts: ReadonlyMap<string, Script> = new Map(
  Object.values(scripts)
    .filter(
      (value): value is Script =>
        typeof value === "object" && "source" in value && "sha" in value && "name" in value,
    )
    .map((script) => [script.name, script]),
);

export interface LuaMutation {
  /** Short id, used in test names. */
  readonly id: string;
  /** The rule the mutation breaks. */
  readonly breaks: string;
  /** Scripts to mutate; each must contain `from`. */
  readonly scripts: readonly string[];
  readonly from: string;
  readonly to: string;
}

const { applied, fencingMismatch, keyExpired, fingerprintMismatch, unknownVersion } = scriptCodes;

export const luaMutations: readonly LuaMutation[] = [
  // Fencing: who may complete, extend or release a claim.
  {
    id: "complete-skips-token",
    breaks: "complete compares the fencing token",
    scripts: ["complete"],
    from: `if record[3] ~= ARGV[1] then return ${fencingMismatch} end`,
    to: "",
  },
  {
    id: "complete-token-ge",
    breaks: "complete accepts only the same token, not a newer one",
    scripts: ["complete"],
    from: `if record[3] ~= ARGV[1] then`,
    to: `if tonumber(ARGV[1]) < tonumber(record[3]) then`,
  },
  {
    id: "complete-token-le",
    breaks: "complete accepts only the same token, not an older one",
    scripts: ["complete"],
    from: `if record[3] ~= ARGV[1] then`,
    to: `if tonumber(ARGV[1]) > tonumber(record[3]) then`,
  },
  {
    id: "complete-skips-fingerprint",
    breaks: "complete compares the fingerprint",
    scripts: ["complete"],
    from: `if record[4] ~= ARGV[2] then return ${fingerprintMismatch} end`,
    to: "",
  },
  {
    id: "complete-overwrites",
    breaks: "a repeated completion keeps the first response",
    scripts: ["complete"],
    from: `if record[2] == 'c' then return ${applied} end`,
    to: "",
  },
  {
    id: "touch-skips-token",
    breaks: "touch compares the fencing token",
    scripts: ["touch"],
    from: `if record[2] ~= 'p' or record[3] ~= ARGV[1] then`,
    to: `if record[2] ~= 'p' then`,
  },
  {
    id: "touch-token-ge",
    breaks: "touch accepts only the same token",
    scripts: ["touch"],
    from: `record[3] ~= ARGV[1] then`,
    to: `tonumber(ARGV[1]) < tonumber(record[3]) then`,
  },
  {
    id: "touch-token-le",
    breaks: "touch refuses an older token",
    scripts: ["touch"],
    from: `record[3] ~= ARGV[1] then`,
    to: `tonumber(ARGV[1]) > tonumber(record[3]) then`,
  },
  {
    id: "touch-completed",
    breaks: "touch extends only a processing entry",
    scripts: ["touch"],
    from: `if record[2] ~= 'p' or record[3] ~= ARGV[1] then`,
    to: `if record[3] ~= ARGV[1] then`,
  },
  {
    id: "remove-skips-token",
    breaks: "remove compares the fencing token",
    scripts: ["remove"],
    from: `if record[2] ~= 'p' or record[3] ~= ARGV[1] then`,
    to: `if record[2] ~= 'p' then`,
  },
  {
    id: "remove-token-ge",
    breaks: "remove accepts only the same token",
    scripts: ["remove"],
    from: `record[3] ~= ARGV[1] then`,
    to: `tonumber(ARGV[1]) < tonumber(record[3]) then`,
  },
  {
    id: "remove-token-le",
    breaks: "remove refuses an older token",
    scripts: ["remove"],
    from: `record[3] ~= ARGV[1] then`,
    to: `tonumber(ARGV[1]) > tonumber(record[3]) then`,
  },
  {
    id: "remove-completed",
    breaks: "remove never releases a completed entry",
    scripts: ["remove"],
    from: `if record[2] ~= 'p' or record[3] ~= ARGV[1] then`,
    to: `if record[3] ~= ARGV[1] then`,
  },
  {
    id: "remove-free-as-mismatch",
    breaks: "remove of a released or expired claim reports key-expired",
    scripts: ["remove"],
    from: `if class == 'free' then return ${keyExpired} end`,
    to: "",
  },
  {
    id: "claim-overwrites-live",
    breaks: "a claim never replaces a live entry",
    scripts: ["claim"],
    from: `if class == 'live' then`,
    to: `if false then`,
  },
  // Expiry.
  {
    id: "no-expiry-check",
    breaks: "an entry past its logical expiry is free",
    scripts: ["claim", "complete", "touch", "remove", "get", "purge"],
    from: `if expiry <= now then return 'free' end`,
    to: "",
  },
  {
    id: "touch-keeps-expiry",
    breaks: "touch moves the logical expiry",
    scripts: ["touch"],
    from: `redis.call('HSET', KEYS[1], 'exp', string.format('%.0f', now + tonumber(ARGV[2])))`,
    to: "",
  },
  {
    id: "complete-keeps-lease-expiry",
    breaks: "complete sets the retention's expiry",
    scripts: ["complete"],
    from: `, 'exp', string.format('%.0f', now + tonumber(ARGV[3])))`,
    to: ")",
  },
  {
    id: "claim-pexpire-wrong-arg",
    breaks: "claim sets the key's TTL from the lease",
    scripts: ["claim"],
    from: `keep(KEYS[1], ARGV[2])`,
    to: `keep(KEYS[1], ARGV[3])`,
  },
  {
    id: "touch-pexpire-wrong-arg",
    breaks: "touch sets the key's TTL from the new lease",
    scripts: ["touch"],
    from: `keep(KEYS[1], ARGV[2])`,
    to: `keep(KEYS[1], ARGV[3])`,
  },
  {
    id: "complete-pexpire-wrong-arg",
    breaks: "complete sets the key's TTL from the retention",
    scripts: ["complete"],
    from: `keep(KEYS[1], ARGV[3])`,
    to: `keep(KEYS[1], ARGV[7])`,
  },
  {
    id: "keep-no-retention",
    breaks: "a record outlives its logical expiry by the token retention",
    scripts: ["claim", "complete", "touch"],
    from: `redis.call('PEXPIRE', key, tonumber(ttl) + ${scripts.tokenRetentionMs})`,
    to: `redis.call('PEXPIRE', key, tonumber(ttl))`,
  },
  // Token order across expiry, release and purge.
  {
    id: "claim-clock-only",
    breaks: "a claim's token is never below the key's last token + 1",
    scripts: ["claim"],
    from: `math.max(tonumber(time[1]) * 1000000 + tonumber(time[2]), (tonumber(record[4]) or 0) + 1)`,
    to: `tonumber(time[1]) * 1000000 + tonumber(time[2])`,
  },
  {
    id: "claim-token-not-above",
    breaks: "a claim's token is strictly above the key's last token",
    scripts: ["claim"],
    from: `(tonumber(record[4]) or 0) + 1)`,
    to: `(tonumber(record[4]) or 0))`,
  },
  {
    id: "tombstone-without-token",
    breaks: "a tombstone keeps the token (a tokenless one is corrupt)",
    scripts: ["remove", "purge"],
    from: `redis.call('HSET', key, 'v', version, 's', 't', 'tok', token)`,
    to: `redis.call('HSET', key, 'v', version, 's', 't')`,
  },
  {
    id: "tombstone-zero-token",
    breaks: "a tombstone keeps the last token, not a fresh one",
    scripts: ["remove", "purge"],
    from: `'s', 't', 'tok', token)`,
    to: `'s', 't', 'tok', '0')`,
  },
  {
    id: "no-tombstone",
    breaks: "release and purge leave a tombstone",
    scripts: ["remove", "purge"],
    from: `redis.call('HSET', key, 'v', version, 's', 't', 'tok', token)`,
    to: "",
  },
  {
    id: "purge-reports-free",
    breaks: "purge reports whether it deleted a live entry",
    scripts: ["purge"],
    from: `if class == 'free' then return 0 end\nreturn 1`,
    to: `return 1`,
  },
  // Records that must not be trusted.
  {
    id: "accepts-missing-token",
    breaks: "a record without a token is corrupt",
    scripts: ["claim", "complete", "touch", "remove", "get", "purge"],
    from: `if type(token) ~= 'string' or #token > 16 then return false end`,
    to: `if type(token) ~= 'string' then return true end\n  if #token > 16 then return false end`,
  },
  {
    id: "accepts-unsafe-token",
    breaks: "a token beyond 2^53 is corrupt",
    scripts: ["claim", "complete", "touch", "remove", "get", "purge"],
    from: `return tonumber(token) <= ${Number.MAX_SAFE_INTEGER}`,
    to: `return true`,
  },
  {
    id: "ignores-version",
    breaks: "a record of another layout version is never interpreted",
    scripts: ["claim", "complete", "touch", "remove", "get", "purge"],
    from: `if stored ~= version then return ${unknownVersion} end`,
    to: "",
  },
];

/** The scripts with `mutation` applied; throws when a target text is missing. */
export function mutatedScripts(mutation: LuaMutation | undefined): Map<string, Script> {
  const result = new Map(originalScripts);
  if (mutation === undefined) return result;
  for (const name of mutation.scripts) {
    const script = originalScripts.get(name);
    if (script === undefined) throw new Error(`${mutation.id}: no script named ${name}`);
    if (!script.source.includes(mutation.from)) {
      throw new Error(`${mutation.id}: target text missing in the ${name} script`);
    }
    const source = script.source.replaceAll(mutation.from, mutation.to);
    result.set(name, { name, source, sha: createHash("sha1").update(source).digest("hex") });
  }
  return result;
}

/**
 * `connection` with the store's scripts swapped for `mutated`: EVALSHA of an original SHA runs
 * the mutated script's SHA, EVAL of an original source its mutated source. A script the
 * harness does not know is refused, so nothing runs unmutated by accident.
 */
export function mutatingConnection(
  connection: ValkeyConnection,
  mutated: ReadonlyMap<string, Script>,
): ValkeyConnection {
  const bySha = new Map<string, string>();
  const bySource = new Map<string, string>();
  for (const [name, original] of originalScripts) {
    const replacement = mutated.get(name) ?? original;
    bySha.set(original.sha, replacement.sha);
    bySource.set(original.source, replacement.source);
  }
  return {
    cluster: connection.cluster,
    evalsha: (sha, keys, args, signal) => {
      const replacement = bySha.get(sha);
      if (replacement === undefined) throw new Error(`unknown script SHA ${sha}`);
      return connection.evalsha(replacement, keys, args, signal);
    },
    eval: (source, keys, args, signal) => {
      const replacement = bySource.get(source);
      if (replacement === undefined) throw new Error("unknown script source");
      return connection.eval(replacement, keys, args, signal);
    },
    command: (args, signal) => connection.command(args, signal),
  };
}
