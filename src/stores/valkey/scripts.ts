import { createHash } from "node:crypto";
import { maxTtlMs } from "../../core/ttl.ts";

/** A Lua script and its SHA-1, for EVALSHA with an EVAL fallback. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** Version of the record layout the scripts write; they still read and replace version 1. */
export const recordVersion = "2";

/** Small integer codes the scripts return for fenced operations. */
export const scriptCodes = {
  applied: 0,
  fencingMismatch: 1,
  keyExpired: 2,
  fingerprintMismatch: 3,
  unknownVersion: -1,
  corrupt: -2,
  /** The key's last token has no successor below 2^53: no token may be issued. */
  tokensExhausted: -3,
} as const;

/**
 * How long a record outlives its logical expiry, so that its last fencing token is still there
 * for the next claim even if the server clock steps back meanwhile.
 */
export const tokenRetentionMs = 60_000;

/**
 * Version 2: one string per key, a fixed-width ASCII header read with `string.byte` and
 * `string.sub`, so the scripts convert no hash reply into Lua values and format no number on
 * the common paths. Offsets are 0-based (the decoder's); Lua's string positions are one more.
 */
export const layout = {
  /** `2` */
  version: 0,
  /** `p` processing, `c` completed, `t` tombstone (released or purged, keeping the token). */
  state: 1,
  /** Fencing token: 16 zero-padded decimal digits, at most 2^53 - 1. A tombstone ends here. */
  token: 2,
  /** Server time of the last write in microseconds, 16 digits (the clock tokens are made of). */
  since: 18,
  /** Lease or retention in ms, 10 zero-padded digits: the logical expiry is since + ttl. */
  ttl: 34,
  /** Fingerprint, 32 hex digits. A processing record ends here. */
  fingerprint: 44,
  /** Completed records only: the HTTP status, 3 digits. */
  status: 76,
  /** The byte length of the headers (JSON), 10 zero-padded digits; headers, then the raw body. */
  headersLength: 79,
  headers: 89,
} as const;

/** Digits of a token, and of `since`. */
export const tokenDigits = 16;
/** Digits of a zero-padded TTL. */
export const ttlDigits = 10;

// What string.byte gives for a version-2 record's first bytes.
const bytes = { version: 0x32, processing: 0x70, completed: 0x63, tombstone: 0x74 } as const;
const maxToken = `'${Number.MAX_SAFE_INTEGER}'`;
/** The header's last Lua position: GETRANGE 0..headerEnd reads a header, not the response. */
const headerEnd = layout.status - 1;

// Version 1 (written by 0.1.0) is still read, and replaced by a version-2 record on any write:
// one hash per key. Fields: v ('1'), s (p, c or t), exp (logical expiry, server ms), fp, tok
// (decimal, no padding), lease (ms), st, h (headers JSON), b.
//
// load() classifies a record as 'live', 'free' (absent, expired or tombstone) or an error code;
// one without a valid token is corrupt whatever its state, as its token orders the next
// claim's. Tokens of either layout are compared as 16-digit strings; Lua numbers are doubles,
// so a token beyond 2^53 could not be followed exactly. Every function defined here is created
// again on each call, so the common paths define two; the version-1 path defines its own.
// Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
const prelude = `
-- The server clock in microseconds, 16 digits: a token, and the time of a write.
local function clock(time)
  if #time[1] == 10 then return time[1] .. string.sub('00000' .. time[2], -6) end
  -- Before 2001 or after 2286: formatted (such a token is refused past 2^53 anyway).
  return string.format('%016.0f', tonumber(time[1]) * 1000000 + tonumber(time[2]))
end
-- The record at key, given its first read (a redis.pcall of GET or GETRANGE) and the token the
-- caller holds, if any (the client sends only valid ones, so a record holding it needs no
-- token check): class, state
-- (its byte), token (16 digits) and the record (a version-2 string, which a reply shows of a
-- live record as it is). A version-1 record comes as its fields' reply {0, state, fp, token,
-- lease, status, headers, body, expiresAt}, then its fingerprint and lease, which a version-2
-- record has at fixed offsets. A read that failed found no string: a version-1 hash (HMGET
-- fails in turn on any other type).
local function load(key, record, time, known)
  if type(record) == 'string' then
    local version, state = string.byte(record, 1, 2)
    if version ~= ${bytes.version} then
      if record == '' and redis.call('EXISTS', key) == 0 then return 'free' end
      return ${scriptCodes.unknownVersion}
    end
    local token = string.sub(record, 3, 18)
    if token ~= known and (#token ~= 16 or string.find(token, '%D') or token > ${maxToken}) then
      return ${scriptCodes.corrupt}, state
    end
    if state == ${bytes.tombstone} then return 'free', state, token end
    if (state ~= ${bytes.processing} and state ~= ${bytes.completed}) or #record < ${layout.status} then
      return ${scriptCodes.corrupt}, state, token
    end
    -- Digits only: tonumber would also take a sign, a dot, hex or spaces, and a damaged time
    -- read as expired would let a claim overwrite a live record.
    if string.find(string.sub(record, 19, 44), '%D') then return ${scriptCodes.corrupt}, state, token end
    local since, ttl = tonumber(string.sub(record, 19, 34)), tonumber(string.sub(record, 35, 44))
    if since + ttl * 1000 <= tonumber(time[1]) * 1000000 + tonumber(time[2]) then
      return 'free', state, token, record
    end
    return 'live', state, token, record
  end
  if not record then return 'free' end
  local function validV1Token(token)
    if type(token) ~= 'string' or #token > 16 then return false end
    if token ~= '0' and not string.match(token, '^[1-9]%d*$') then return false end
    return tonumber(token) <= ${Number.MAX_SAFE_INTEGER}
  end
  record = redis.call('HMGET', key, 'v', 's', 'fp', 'tok', 'lease', 'st', 'h', 'b', 'exp')
  local state = record[2]
  -- A record of another version is never interpreted, its token included.
  local token = nil
  if record[1] == '1' and validV1Token(record[4]) then token = string.format('%016.0f', tonumber(record[4])) end
  local class = ${scriptCodes.corrupt}
  if state ~= 'p' and state ~= 'c' and state ~= 't' then class = ${scriptCodes.corrupt}
  elseif record[1] ~= '1' then class = ${scriptCodes.unknownVersion}
  elseif token == nil then class = ${scriptCodes.corrupt}
  elseif state == 't' then class = 'free'
  -- A claim or a completion without its fingerprint cannot be checked, completed or replayed.
  elseif type(record[3]) ~= 'string' then class = ${scriptCodes.corrupt}
  else
    local expiry = tonumber(record[9])
    if expiry == nil then class = ${scriptCodes.corrupt}
    elseif expiry <= tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) then class = 'free'
    else class = 'live' end
  end
  return class, state and string.byte(state), token,
    {0, record[2], record[3], record[4], record[5], record[6], record[7], record[8], record[9]},
    record[3] or '', record[5] or ''
end
`;

/**
 * With a shebang (Redis 7+, Valkey) the server checks memory before a writing script starts,
 * so an out-of-memory server rejects the whole script instead of letting it write past the
 * limit; `no-writes` lets reads run on replicas and under memory pressure.
 */
function script(name: string, body: string, flags = ""): Script {
  const source = `#!lua${flags === "" ? "" : ` flags=${flags}`}\n${prelude}\n${body}`;
  return { name, source, sha: createHash("sha1").update(source).digest("hex") };
}

/**
 * KEYS[1] record; ARGV fingerprint, lease (10 digits), key TTL in ms (the lease plus
 * {@link tokenRetentionMs}, computed by the client so the script formats no number).
 * Returns the new token (16 digits) on a claim, the record (a version-2 string, or the
 * version-1 fields `{0, state, fp, token, lease, status, headers, body, expiresAt}`) when it is
 * live, or a code. A claim replaces an expired record but keeps its token order.
 */
export const claimScript: Script = script(
  "claim",
  // Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
  `
local time = redis.call('TIME')
local class, _, last, live = load(KEYS[1], redis.pcall('GET', KEYS[1]), time)
if type(class) == 'number' then return class end
if class == 'live' then return live end
-- Server time in microseconds, never below the key's last token (kept past expiry and release).
local now = clock(time)
local token = now
if last and token <= last then token = string.format('%016.0f', tonumber(last) + 1) end
if #token ~= 16 or token > ${maxToken} then return ${scriptCodes.tokensExhausted} end
redis.call('SET', KEYS[1], '2p' .. token .. now .. ARGV[2] .. ARGV[1], 'PX', ARGV[3])
return token
`,
);

/**
 * KEYS[1] record; ARGV token (16 digits), fingerprint, retention (10 digits), key TTL in ms,
 * status (3 digits) + headers length (10 digits) + headers, body. The body is an argument of
 * its own so the client sends the response's bytes as they are, without copying them.
 */
export const completeScript: Script = script(
  "complete",
  // Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
  `
local time = redis.call('TIME')
local class, state, token, record, fp = load(KEYS[1], redis.pcall('GETRANGE', KEYS[1], 0, ${headerEnd}), time, ARGV[1])
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
if token ~= ARGV[1] then return ${scriptCodes.fencingMismatch} end
fp = fp or string.sub(record, 45, 76)
if fp ~= ARGV[2] then return ${scriptCodes.fingerprintMismatch} end
-- The same claim completing again: a retry whose first reply was lost. Keep the first.
if state == ${bytes.completed} then return ${scriptCodes.applied} end
redis.call('SET', KEYS[1], '2c' .. token .. clock(time) .. ARGV[3] .. fp .. ARGV[5] .. ARGV[6], 'PX', ARGV[4])
return ${scriptCodes.applied}
`,
);

/** KEYS[1] record; ARGV token (16 digits), lease (10 digits), key TTL in ms. */
export const touchScript: Script = script(
  "touch",
  // Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
  `
local time = redis.call('TIME')
local class, state, token, record, fp = load(KEYS[1], redis.pcall('GETRANGE', KEYS[1], 0, ${headerEnd}), time, ARGV[1])
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
if state ~= ${bytes.processing} or token ~= ARGV[1] then return ${scriptCodes.fencingMismatch} end
fp = fp or string.sub(record, 45, 76)
redis.call('SET', KEYS[1], '2p' .. token .. clock(time) .. ARGV[2] .. fp, 'PX', ARGV[3])
return ${scriptCodes.applied}
`,
);

// A tombstone lives as long as the lease it ends, at least the token retention; a lease that
// is not a timer's whole milliseconds (a corrupt record) falls back to the retention.
// Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
const tombstone = `
local function tombstone(key, token, lease)
  local ttl = tonumber(lease)
  if ttl == nil or ttl ~= math.floor(ttl) or ttl < ${tokenRetentionMs} or ttl > ${maxTtlMs} then
    ttl = ${tokenRetentionMs}
  end
  redis.call('SET', key, '2t' .. token, 'PX', ttl)
end
`;

/** KEYS[1] record; ARGV token (16 digits). Leaves a tombstone keeping the token. */
export const removeScript: Script = script(
  "remove",
  // Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
  `${tombstone}
local time = redis.call('TIME')
local class, state, token, record, _, lease = load(KEYS[1], redis.pcall('GETRANGE', KEYS[1], 0, ${headerEnd}), time, ARGV[1])
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
if state ~= ${bytes.processing} or token ~= ARGV[1] then return ${scriptCodes.fencingMismatch} end
tombstone(KEYS[1], token, lease or string.sub(record, 35, 44))
return ${scriptCodes.applied}
`,
);

/** KEYS[1] record. The same reply as a claim that found a live entry, or a code. */
export const getScript: Script = script(
  "get",
  // Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
  `
local time = redis.call('TIME')
local class, _, _, live = load(KEYS[1], redis.pcall('GET', KEYS[1]), time)
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
return live
`,
  "no-writes",
);

/**
 * KEYS[1] record. Deletes whatever is there, corrupt records included, keeping a tombstone
 * with the last token whenever the record (of a known layout version) has a valid one, so the
 * next claim's token stays above it. Returns 1 when a live or corrupt record was deleted.
 */
export const purgeScript: Script = script(
  "purge",
  // Stryker disable next-line StringLiteral: Lua source, mutated by test/lua-mutations instead
  `${tombstone}
local record = redis.pcall('GETRANGE', KEYS[1], 0, ${headerEnd})
if type(record) == 'table' and redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then
  redis.call('DEL', KEYS[1])
  return 1
end
local class, state, token, _, _, lease = load(KEYS[1], record, redis.call('TIME'))
-- Nothing there, or a tombstone: it holds nothing but the token already.
if class == 'free' and (state == nil or state == ${bytes.tombstone}) then return 0 end
if token then
  tombstone(KEYS[1], token, lease or string.sub(record, 35, 44))
else
  redis.call('DEL', KEYS[1])
end
if class == 'free' then return 0 end
return 1
`,
);
