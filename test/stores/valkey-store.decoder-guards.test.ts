// The decoder's own checks, which the scripts make first: the store refuses a record with an
// unknown version, a token beyond 2^53, an unknown state or a missing field even when a changed
// script lets it through. The store runs on the real server through a connection that swaps
// the get and claim scripts for copies with the scripts' checks taken out (test/lua-mutations'
// connection), so each of the decoder's checks is the only one left.
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Fingerprint } from "../../src/core/fingerprint.ts";
import { IdempotencyEntry } from "../../src/core/idempotency-entry.ts";
import { IdempotencyKey } from "../../src/core/idempotency-key.ts";
import { MalformedRecordError } from "../../src/errors/malformed-record-error.ts";
import type { Script } from "../../src/stores/valkey/scripts.ts";
import { toValkeyConnection } from "../../src/stores/valkey/valkey-connection.ts";
import { ValkeyStore } from "../../src/stores/valkey/valkey-store.ts";
import { mutatedScripts, mutatingConnection } from "../lua-mutations/mutations.ts";
import { startServer, type ServerProcess } from "../servers/redis-server.ts";
import { writeV1, writeV2 } from "./valkey-records.ts";

const fingerprint = Fingerprint.fromHex("7b".repeat(16));

/** `script` with each [from, to] replaced once; throws when a target text is missing. */
function changed(script: Script, replacements: readonly [string, string][]): Script {
  let source = script.source;
  for (const [from, to] of replacements) {
    if (!source.includes(from)) throw new Error(`${script.name}: no ${from}`);
    source = source.replace(from, to);
  }
  return { name: script.name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/** The scripts' checks of a record, each disabled. */
const unchecked: readonly [string, string][] = [
  ["if version ~= 50 then", "if false then"],
  ["(#token ~= 16 or string.find(token, '%D') or token > '9007199254740991')", "false"],
  ["if string.find(string.sub(record, 19, 44), '%D') then", "if false then"],
  ["if state ~= 'p' and state ~= 'c' and state ~= 't' then class =", "if false then class ="],
  ["elseif token == nil then class =", "elseif false then class ="],
  ["elseif type(record[3]) ~= 'string' then class =", "elseif false then class ="],
];

async function caught(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

function answer(error: unknown): { path: string; message: string } | string {
  if (!(error instanceof MalformedRecordError))
    return `not a MalformedRecordError: ${String(error)}`;
  return { path: error.path, message: error.message };
}

describe("ValkeyStore's decoder behind changed scripts", () => {
  let server: ServerProcess;
  let raw: Redis;
  /** A store whose get script checks nothing of the record. */
  let store: ValkeyStore;
  /** A store whose get script answers `false` (a nil reply) for a live record. */
  let nilStore: ValkeyStore;
  /** A store whose claim script answers 16 letters instead of a token. */
  let letterStore: ValkeyStore;

  beforeAll(async () => {
    server = await startServer({ binary: "valkey-server" });
    raw = new Redis(server.port, "127.0.0.1");
    const scripts = mutatedScripts(undefined);
    const connection = toValkeyConnection(raw);
    const swapped = (name: string, replacements: readonly [string, string][]) => {
      const original = scripts.get(name);
      if (original === undefined) throw new Error(`no script ${name}`);
      const map = new Map(scripts);
      map.set(name, changed(original, replacements));
      return mutatingConnection(connection, map);
    };
    store = new ValkeyStore({ client: swapped("get", unchecked), prefix: "guard" });
    nilStore = new ValkeyStore({
      client: swapped("get", [["return live\n", "return false\n"]]),
      prefix: "guard",
    });
    letterStore = new ValkeyStore({
      client: swapped("claim", [["return token\n", "return 'xxxxxxxxxxxxxxxx'\n"]]),
      prefix: "guard",
    });
  });
  afterAll(async () => {
    raw.disconnect();
    await server.stop();
  });

  const key = IdempotencyKey.parse("k");
  const recordKey = "guard:{k}";

  it("refuses a version-2 record of another version", async () => {
    await writeV2(raw, recordKey, { version: "3" });
    expect(answer(await caught(store.get(key)))).toEqual({
      path: "v",
      message: "v: record guard:{k} has an unknown layout version",
    });
  });

  it.each([
    ["token", { token: "00000000000000x1" }, "tok"],
    // Numbers Lua reads, which are not the 16 and 10 digits records hold.
    ["time", { since: "9.9e15          " }, "since"],
    ["TTL", { ttl: "1e300     " }, "ttl"],
  ] as const)("refuses a version-2 record whose %s is not digits", async (_, parts, path) => {
    await writeV2(raw, recordKey, parts);
    expect(answer(await caught(store.get(key)))).toEqual({
      path,
      message: `${path}: expected decimal digits`,
    });
  });

  it("refuses a version-2 record whose token is beyond 2^53", async () => {
    await writeV2(raw, recordKey, { token: "9999999999999999" });
    expect(answer(await caught(store.get(key)))).toEqual({
      path: "tok",
      message: "tok: expected a decimal integer below 2^53",
    });
  });

  const v1 = () => ({
    v: "1",
    s: "p",
    fp: fingerprint.hex,
    tok: "12",
    lease: "1000",
    exp: String(Date.now() + 3_600_000),
  });
  const v1Cases: [string, Record<string, string | undefined>, { path: string; message: string }][] =
    [
      ["an unknown state", { s: "x" }, { path: "s", message: "s: unknown state x" }],
      ["no state", { s: undefined }, { path: "s", message: "s: missing" }],
      ["no fingerprint", { fp: undefined }, { path: "fp", message: "fp: missing" }],
      ["no token", { tok: undefined }, { path: "tok", message: "tok: missing" }],
      ...["01", "-1", "1.5", "9007199254740992", "12345678901234567", "x"].map(
        (tok): [string, Record<string, string>, { path: string; message: string }] => [
          `token ${tok}`,
          { tok },
          { path: "tok", message: "tok: expected a decimal integer below 2^53" },
        ],
      ),
    ];

  it.each(v1Cases)("refuses a version-1 record with %s", async (_, fields, expected) => {
    await writeV1(raw, recordKey, { ...v1(), ...fields });
    expect(answer(await caught(store.get(key)))).toEqual(expected);
  });

  it("reads the largest valid version-1 token, and a token of 0", async () => {
    for (const tok of ["9007199254740991", "0"]) {
      await writeV1(raw, recordKey, { ...v1(), tok });
      expect((await store.get(key))?.entry.state, tok).toBe("processing");
    }
  });

  it("refuses a reply that is neither a record nor a code", async () => {
    await writeV2(raw, recordKey, {});
    expect(answer(await caught(nilStore.get(key)))).toEqual({
      path: "",
      message: "record: unexpected script reply",
    });
  });

  it("refuses a claim's token that is not 16 digits", async () => {
    await raw.del(recordKey);
    expect(
      answer(await caught(letterStore.tryInsert(key, IdempotencyEntry.new(fingerprint)))),
    ).toEqual({ path: "tok", message: "tok: expected decimal digits" });
  });
});
