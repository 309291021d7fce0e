import { createHash } from "node:crypto";
import { maxTtlMs } from "../../core/ttl.ts";

/** A Lua script and its SHA-1, for EVALSHA with an EVAL fallback. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** Version of the record layout; a record of another version is never interpreted. */
export const recordVersion = "1";

/** Small integer codes the scripts return for fenced operations. */
export const scriptCodes = {
  applied: 0,
  fencingMismatch: 1,
  keyExpired: 2,
  fingerprintMismatch: 3,
  unknownVersion: -1,
  corrupt: -2,
} as const;

/**
 * How long a record outlives its logical expiry, so that its last fencing token is still there
 * for the next claim even if the server clock steps back meanwhile.
 */
export const tokenRetentionMs = 60_000;

// Record: one hash per key. Fields: v (layout version), s (p = processing, c = completed,
// t = tombstone: released or purged, keeping the last token), exp (logical expiry, server ms),
// fp (fingerprint hex), tok (fencing token, decimal), lease (lease ms), st (status), h
// (headers JSON), b (raw body). The key's TTL runs tokenRetentionMs past exp.
// classify() returns 'live', 'free' (absent, expired or tombstone) or an error code; a record
// without a valid token is corrupt whatever its state, as its token orders the next claim's.
const prelude = `
local function validToken(token)
  if type(token) ~= 'string' or #token > 16 then return false end
  if token ~= '0' and not string.match(token, '^[1-9]%d*$') then return false end
  -- Lua numbers are doubles: beyond 2^53 the next token could not be computed exactly.
  return tonumber(token) <= ${Number.MAX_SAFE_INTEGER}
end
local function classify(key, version, stored, state, token, expires, now)
  if state == 'p' or state == 'c' or state == 't' then
    if stored ~= version then return ${scriptCodes.unknownVersion} end
    if not validToken(token) then return ${scriptCodes.corrupt} end
    if state == 't' then return 'free' end
    local expiry = tonumber(expires)
    if expiry == nil then return ${scriptCodes.corrupt} end
    if expiry <= now then return 'free' end
    return 'live'
  end
  if state == false and redis.call('EXISTS', key) == 0 then return 'free' end
  return ${scriptCodes.corrupt}
end
local function nowMs(time)
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
local function keep(key, ttl)
  redis.call('PEXPIRE', key, tonumber(ttl) + ${tokenRetentionMs})
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
 * KEYS[1] record; ARGV fingerprint, lease ms, version.
 * Returns {1, token, expiresAt} on a claim, {0, state, fp, token, lease, status, headers, body,
 * expiresAt} when live, or {code}. A claim replaces an expired record but keeps its token order.
 */
export const claimScript: Script = script(
  "claim",
  `
local time = redis.call('TIME')
local now = nowMs(time)
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'fp', 'tok', 'lease', 'st', 'h', 'b', 'exp')
local class = classify(KEYS[1], ARGV[3], record[1], record[2], record[4], record[9], now)
if type(class) == 'number' then return {class} end
if class == 'live' then
  return {0, record[2], record[3], record[4], record[5], record[6], record[7], record[8], record[9]}
end
-- Server time in microseconds, never below the key's last token (kept past expiry and release).
local token = math.max(tonumber(time[1]) * 1000000 + tonumber(time[2]), (tonumber(record[4]) or 0) + 1)
local tokenText = string.format('%.0f', token)
redis.call('DEL', KEYS[1])
local expires = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'v', ARGV[3], 's', 'p', 'fp', ARGV[1], 'tok', tokenText, 'lease', ARGV[2], 'exp', string.format('%.0f', expires))
keep(KEYS[1], ARGV[2])
return {1, tokenText, expires}
`,
);

/** KEYS[1] record; ARGV token, fingerprint, ttl ms, status, headers, body, version. */
export const completeScript: Script = script(
  "complete",
  `
local now = nowMs(redis.call('TIME'))
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'fp', 'exp')
local class = classify(KEYS[1], ARGV[7], record[1], record[2], record[3], record[5], now)
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
if record[3] ~= ARGV[1] then return ${scriptCodes.fencingMismatch} end
if record[4] ~= ARGV[2] then return ${scriptCodes.fingerprintMismatch} end
-- The same claim completing again: a retry whose first reply was lost. Keep the first.
if record[2] == 'c' then return ${scriptCodes.applied} end
redis.call('HSET', KEYS[1], 's', 'c', 'st', ARGV[4], 'h', ARGV[5], 'b', ARGV[6], 'exp', string.format('%.0f', now + tonumber(ARGV[3])))
keep(KEYS[1], ARGV[3])
return ${scriptCodes.applied}
`,
);

/** KEYS[1] record; ARGV token, ttl ms, version. */
export const touchScript: Script = script(
  "touch",
  `
local now = nowMs(redis.call('TIME'))
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'exp')
local class = classify(KEYS[1], ARGV[3], record[1], record[2], record[3], record[4], now)
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
if record[2] ~= 'p' or record[3] ~= ARGV[1] then return ${scriptCodes.fencingMismatch} end
redis.call('HSET', KEYS[1], 'exp', string.format('%.0f', now + tonumber(ARGV[2])))
keep(KEYS[1], ARGV[2])
return ${scriptCodes.applied}
`,
);

// A script that fails half-way keeps what it wrote, so nothing after the DEL may fail: the
// token is a valid one, and a lease that is not a timer's whole milliseconds (a corrupt record)
// falls back to the retention.
const tombstone = `
local function tombstone(key, version, token, lease)
  local ttl = tonumber(lease)
  if ttl == nil or ttl ~= math.floor(ttl) or ttl < ${tokenRetentionMs} or ttl > ${maxTtlMs} then
    ttl = ${tokenRetentionMs}
  end
  redis.call('DEL', key)
  redis.call('HSET', key, 'v', version, 's', 't', 'tok', token)
  redis.call('PEXPIRE', key, string.format('%.0f', ttl))
end
`;

/** KEYS[1] record; ARGV token, version. Leaves a tombstone keeping the token. */
export const removeScript: Script = script(
  "remove",
  `${tombstone}
local now = nowMs(redis.call('TIME'))
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'lease', 'exp')
local class = classify(KEYS[1], ARGV[2], record[1], record[2], record[3], record[5], now)
if type(class) == 'number' then return class end
if class == 'free' then return ${scriptCodes.keyExpired} end
if record[2] ~= 'p' or record[3] ~= ARGV[1] then return ${scriptCodes.fencingMismatch} end
tombstone(KEYS[1], ARGV[2], record[3], record[4])
return ${scriptCodes.applied}
`,
);

/** KEYS[1] record; ARGV version. Same reply as a claim that found a live entry, or {2}. */
export const getScript: Script = script(
  "get",
  `
local now = nowMs(redis.call('TIME'))
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'fp', 'tok', 'lease', 'st', 'h', 'b', 'exp')
local class = classify(KEYS[1], ARGV[1], record[1], record[2], record[4], record[9], now)
if type(class) == 'number' then return {class} end
if class == 'free' then return {${scriptCodes.keyExpired}} end
return {0, record[2], record[3], record[4], record[5], record[6], record[7], record[8], record[9]}
`,
  "no-writes",
);

/**
 * KEYS[1] record; ARGV version. Deletes whatever is there, corrupt records included, keeping a
 * tombstone with the last token whenever the record (of this layout version) has a valid one,
 * so the next claim's token stays above it. Returns 1 when a live or corrupt record was deleted.
 */
export const purgeScript: Script = script(
  "purge",
  `${tombstone}
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'none' then return 0 end
if kind ~= 'hash' then
  redis.call('DEL', KEYS[1])
  return 1
end
local now = nowMs(redis.call('TIME'))
local record = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'lease', 'exp')
local class = classify(KEYS[1], ARGV[1], record[1], record[2], record[3], record[5], now)
-- A tombstone holds nothing but the token already.
if class == 'free' and record[2] == 't' then return 0 end
-- A record of another version is never interpreted, its token included.
if record[1] == ARGV[1] and validToken(record[3]) then
  tombstone(KEYS[1], ARGV[1], record[3], record[4])
else
  redis.call('DEL', KEYS[1])
end
if class == 'free' then return 0 end
return 1
`,
);
