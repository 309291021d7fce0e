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
/** The state bytes the scripts compare (`string.byte`). */
const processing = "p".charCodeAt(0);
const completed = "c".charCodeAt(0);
const everyScript = ["claim", "complete", "touch", "remove", "get", "purge"];

export const luaMutations: readonly LuaMutation[] = [
  // Fencing: who may complete, extend or release a claim.
  {
    id: "complete-skips-token",
    breaks: "complete compares the fencing token",
    scripts: ["complete"],
    from: `if token ~= ARGV[1] then return ${fencingMismatch} end`,
    to: "",
  },
  {
    id: "complete-token-ge",
    breaks: "complete accepts only the same token, not a newer one",
    scripts: ["complete"],
    from: `if token ~= ARGV[1] then`,
    to: `if ARGV[1] < token then`,
  },
  {
    id: "complete-token-le",
    breaks: "complete accepts only the same token, not an older one",
    scripts: ["complete"],
    from: `if token ~= ARGV[1] then`,
    to: `if ARGV[1] > token then`,
  },
  {
    id: "complete-skips-fingerprint",
    breaks: "complete compares the fingerprint",
    scripts: ["complete"],
    from: `if fp ~= ARGV[2] then return ${fingerprintMismatch} end`,
    to: "",
  },
  {
    id: "complete-overwrites",
    breaks: "a repeated completion keeps the first response",
    scripts: ["complete"],
    from: `if state == ${completed} then return ${applied} end`,
    to: "",
  },
  ...(["touch", "remove"] as const).flatMap((name): LuaMutation[] => [
    {
      id: `${name}-skips-token`,
      breaks: `${name} compares the fencing token`,
      scripts: [name],
      from: `if state ~= ${processing} or token ~= ARGV[1] then`,
      to: `if state ~= ${processing} then`,
    },
    {
      id: `${name}-token-ge`,
      breaks: `${name} accepts only the same token`,
      scripts: [name],
      from: `token ~= ARGV[1] then`,
      to: `ARGV[1] < token then`,
    },
    {
      id: `${name}-token-le`,
      breaks: `${name} refuses an older token`,
      scripts: [name],
      from: `token ~= ARGV[1] then`,
      to: `ARGV[1] > token then`,
    },
    {
      id: `${name}-completed`,
      breaks: `${name} acts only on a processing entry`,
      scripts: [name],
      from: `if state ~= ${processing} or token ~= ARGV[1] then`,
      to: `if token ~= ARGV[1] then`,
    },
  ]),
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
    from: `if class == 'live' then return live end`,
    to: "",
  },
  // Expiry: the logical expiry (since + ttl) and the key's TTL.
  {
    id: "no-expiry-check",
    breaks: "an entry past its logical expiry is free",
    scripts: everyScript,
    from: `if since + ttl * 1000 <=`,
    to: `if false and since + ttl * 1000 <=`,
  },
  {
    id: "time-digits-unchecked",
    breaks: "a record whose time or TTL is not all digits is corrupt, not expired",
    scripts: everyScript,
    from: `if string.find(string.sub(record, 19, 44), '%D') then`,
    to: `if false then`,
  },
  {
    id: "touch-keeps-since",
    breaks: "touch moves the logical expiry",
    scripts: ["touch"],
    from: `clock(time) .. ARGV[2] .. fp`,
    to: `string.sub(redis.call('GET', KEYS[1]), 19, 34) .. ARGV[2] .. fp`,
  },
  {
    id: "complete-keeps-lease-expiry",
    breaks: "complete sets the retention's expiry",
    scripts: ["complete"],
    from: `clock(time) .. ARGV[3] .. fp .. ARGV[5]`,
    to: `string.sub(redis.call('GET', KEYS[1]), 19, 44) .. fp .. ARGV[5]`,
  },
  {
    id: "claim-keeps-key-ttl",
    breaks: "claim sets the key's TTL",
    scripts: ["claim"],
    from: `'PX', ARGV[3])`,
    to: `'KEEPTTL')`,
  },
  {
    id: "touch-keeps-key-ttl",
    breaks: "touch sets the key's TTL from the new lease",
    scripts: ["touch"],
    from: `'PX', ARGV[3])`,
    to: `'KEEPTTL')`,
  },
  {
    id: "complete-keeps-key-ttl",
    breaks: "complete sets the key's TTL from the retention",
    scripts: ["complete"],
    from: `'PX', ARGV[4])`,
    to: `'KEEPTTL')`,
  },
  {
    id: "tombstone-retention-only",
    breaks: "a released claim's tombstone lives as long as its lease",
    scripts: ["remove"],
    from: `local ttl = tonumber(lease)`,
    to: `local ttl = nil`,
  },
  // Token order across expiry, release and purge.
  {
    id: "claim-clock-only",
    breaks: "a claim's token is never below the key's last token + 1",
    scripts: ["claim"],
    from: `if last and token <= last then token = string.format('%016.0f', tonumber(last) + 1) end`,
    to: "",
  },
  {
    id: "claim-token-not-above",
    breaks: "a claim's token is strictly above the key's last token",
    scripts: ["claim"],
    from: `tonumber(last) + 1)`,
    to: `tonumber(last))`,
  },
  {
    id: "claim-token-unbounded",
    breaks: "a claim issues no token beyond 2^53",
    scripts: ["claim"],
    from: `if #token ~= 16 or token > '${Number.MAX_SAFE_INTEGER}' then return ${scriptCodes.tokensExhausted} end`,
    to: "",
  },
  {
    id: "tombstone-without-token",
    breaks: "a tombstone keeps the token (a tokenless one is corrupt)",
    scripts: ["remove", "purge"],
    from: `'2t' .. token,`,
    to: `'2t',`,
  },
  {
    id: "tombstone-zero-token",
    breaks: "a tombstone keeps the last token, not a fresh one",
    scripts: ["remove", "purge"],
    from: `'2t' .. token,`,
    to: `'2t0000000000000000',`,
  },
  {
    id: "no-tombstone",
    breaks: "release and purge leave a tombstone",
    scripts: ["remove", "purge"],
    from: `redis.call('SET', key, '2t' .. token, 'PX', ttl)`,
    to: `redis.call('DEL', key)`,
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
    id: "accepts-short-token",
    breaks: "a record whose token is not 16 characters is corrupt",
    scripts: everyScript,
    from: `(#token ~= 16 or string.find`,
    to: `(string.find`,
  },
  {
    id: "accepts-non-digit-token",
    breaks: "a token of anything but digits is corrupt",
    scripts: everyScript,
    from: `or string.find(token, '%D') or`,
    to: `or`,
  },
  {
    id: "accepts-unsafe-token",
    breaks: "a token beyond 2^53 is corrupt",
    scripts: everyScript,
    from: `or token > '${Number.MAX_SAFE_INTEGER}') then`,
    to: `) then`,
  },
  {
    id: "ignores-version",
    breaks: "a record of another layout version is never interpreted",
    scripts: everyScript,
    from: `if version ~= ${"2".charCodeAt(0)} then`,
    to: `if false then`,
  },
  // Version-1 records (0.1.0's hashes): read, and replaced on write, by the same rules.
  {
    id: "v1-as-absent",
    breaks: "a version-1 record is read, not taken for an absent one",
    scripts: everyScript,
    from: `if not record then return 'free' end`,
    to: `if true then return 'free' end`,
  },
  {
    id: "v1-no-expiry-check",
    breaks: "a version-1 entry past its logical expiry is free",
    scripts: everyScript,
    from: `elseif expiry <=`,
    to: `elseif false and expiry <=`,
  },
  {
    id: "v1-token-dropped",
    breaks: "a version-1 record's token orders the next claim and fences its claim",
    scripts: everyScript,
    from: `token = string.format('%016.0f', tonumber(record[4]))`,
    to: `token = '0000000000000000'`,
  },
  {
    id: "v1-accepts-missing-token",
    breaks: "a version-1 record without a token is corrupt",
    scripts: everyScript,
    from: `if type(token) ~= 'string' or #token > 16 then return false end`,
    to: `if type(token) ~= 'string' then return true end\n  if #token > 16 then return false end`,
  },
  {
    id: "v1-accepts-unsafe-token",
    breaks: "a version-1 token beyond 2^53 is corrupt",
    scripts: everyScript,
    from: `return tonumber(token) <= ${Number.MAX_SAFE_INTEGER}`,
    to: `return true`,
  },
  {
    id: "v1-ignores-version",
    breaks: "a version-1 layout of another version is reported as such",
    scripts: everyScript,
    from: `elseif record[1] ~= '1' then class = ${unknownVersion}`,
    to: "",
  },
  {
    id: "v1-reads-foreign-token",
    breaks: "a record of another version is never interpreted, its token included",
    scripts: everyScript,
    from: `if record[1] == '1' and validV1Token(record[4])`,
    to: `if validV1Token(record[4])`,
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
