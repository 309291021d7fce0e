import { LuaScript } from "./lua-script.ts";

/**
 * Version of the record layout, stored in every record's `v` field. A record of another
 * version is never interpreted: every operation on it fails with `MalformedRecordError`.
 *
 * @example
 * ```ts
 * await redis.hget("billing:{order-42}", "v"); // "1"
 * ```
 */
export const recordLayoutVersion = "1";

/**
 * The integer replies of `complete`, `touch` and `remove`. Every script replies
 * `{-1, field, message}` for a malformed record.
 *
 * @example
 * ```ts
 * if (reply === fencedReplyCodes.applied) return fencedOutcome.applied;
 * ```
 */
export const fencedReplyCodes = {
  applied: 0,
  fencingMismatch: 1,
  keyExpired: 2,
  fingerprintMismatch: 3,
} as const;

/**
 * The first element of a claim or get reply that found a live record: `{1, expiresAt,
 * fingerprint, leaseMs}` for a processing one, `{2, expiresAt, fingerprint, status, headers,
 * body}` for a completed one; `{-1, field, message}` for a malformed one.
 *
 * @example
 * ```ts
 * if (reply[0] === liveReplyCodes.completed) replay(reply);
 * ```
 */
export const liveReplyCodes = { malformed: -1, processing: 1, completed: 2 } as const;

// The record of one key is one hash:
//   v     layout version ("1")
//   s     state: p (processing), c (completed), r (released: a tombstone keeping the token)
//   tok   fencing token of the last claim, decimal
//   exp   logical expiry, ms since the epoch on the server's clock, decimal
//   fp    fingerprint, 32 hex digits
//   lease lease of the claim in ms, decimal
//   st    status (completed), decimal
//   h     headers (completed): "name:value" lines joined by "\n"
//   b     body (completed), raw bytes
// A record is live while s is p or c and exp is ahead of the server's clock (TIME). Its
// physical TTL (PEXPIREAT) runs past exp by the token retention (at least the lease for a
// claim), so an expired or released record keeps its last token for a while: the next claim's
// token is max(TIME in microseconds, last token + 1) even when the clock stepped back.
// Numbers stay below 2^53 (exact as Lua doubles) and are written with %d, never tostring.
const prelude = `
local function int(s)
  if s and #s <= 16 and string.find(s, '^%d+$') then return tonumber(s) end
  return nil
end
local function clock()
  local t = redis.call('TIME')
  local s, us = tonumber(t[1]), tonumber(t[2])
  return s * 1000 + math.floor(us / 1000), s * 1000000 + us
end
local function classify(r, now)
  if not r[1] then
    if r[2] or r[3] or r[4] then return 'bad', 'v', 'missing layout version' end
    return 'absent'
  end
  if r[1] ~= '${recordLayoutVersion}' then return 'bad', 'v', 'unknown layout version ' .. r[1] end
  local tok, exp = int(r[3]), int(r[4])
  if not tok then return 'bad', 'tok', 'expected a decimal fencing token' end
  if not exp then return 'bad', 'exp', 'expected a decimal expiry' end
  local s = r[2]
  if s ~= 'p' and s ~= 'c' and s ~= 'r' then return 'bad', 's', 'unknown state' end
  if s == 'r' or exp <= now then return 'free', tok end
  return 'live', tok, exp
end
local function live(r, exp)
  if r[2] == 'p' then
    local lease = int(r[6])
    if not lease then return {-1, 'lease', 'expected a decimal lease'} end
    return {1, exp, r[5] or '', lease}
  end
  local st = int(r[7])
  if not st then return {-1, 'st', 'expected a decimal status'} end
  if not r[8] then return {-1, 'h', 'missing headers'} end
  if not r[9] then return {-1, 'b', 'missing body'} end
  return {2, exp, r[5] or '', st, r[8], r[9]}
end
`;

function script(name: string, body: string): LuaScript {
  return new LuaScript(name, `${prelude}${body}`);
}

/**
 * KEYS[1] record; ARGV fingerprint, lease ms, token retention ms. Replies the new token (an
 * integer) on a claim, else the live record.
 */
export const claimScript: LuaScript = script(
  "claim",
  `
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'exp', 'fp', 'lease', 'st', 'h', 'b')
local now, micros = clock()
local class, a, b = classify(r, now)
if class == 'bad' then return {-1, a, b} end
if class == 'live' then return live(r, b) end
local token = micros
if class == 'free' and a >= token then token = a + 1 end
local lease = tonumber(ARGV[2])
local exp = now + lease
-- HSET first: on an out-of-memory server it fails before anything is written.
redis.call('HSET', KEYS[1], 'v', '${recordLayoutVersion}', 's', 'p', 'tok', string.format('%d', token), 'exp', string.format('%d', exp), 'fp', ARGV[1], 'lease', ARGV[2])
if class == 'free' then redis.call('HDEL', KEYS[1], 'st', 'h', 'b') end
redis.call('PEXPIREAT', KEYS[1], exp + math.max(lease, tonumber(ARGV[3])))
return token
`,
);

/**
 * KEYS[1] record; ARGV token, fingerprint, ttl ms, status, headers, body, token retention ms.
 * A completion retried by the same claim (its first reply lost) is applied and keeps the first.
 */
export const completeScript: LuaScript = script(
  "complete",
  `
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'exp', 'fp')
local now = clock()
local class, a, b = classify(r, now)
if class == 'bad' then return {-1, a, b} end
if class ~= 'live' then return ${fencedReplyCodes.keyExpired} end
if r[3] ~= ARGV[1] then return ${fencedReplyCodes.fencingMismatch} end
if r[5] ~= ARGV[2] then return ${fencedReplyCodes.fingerprintMismatch} end
if r[2] == 'c' then return ${fencedReplyCodes.applied} end
local exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 's', 'c', 'exp', string.format('%d', exp), 'st', ARGV[4], 'h', ARGV[5], 'b', ARGV[6])
redis.call('PEXPIREAT', KEYS[1], exp + tonumber(ARGV[7]))
return ${fencedReplyCodes.applied}
`,
);

/** KEYS[1] record; ARGV token, ttl ms, token retention ms. */
export const touchScript: LuaScript = script(
  "touch",
  `
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'exp')
local now = clock()
local class, a, b = classify(r, now)
if class == 'bad' then return {-1, a, b} end
if class ~= 'live' then return ${fencedReplyCodes.keyExpired} end
if r[2] ~= 'p' or r[3] ~= ARGV[1] then return ${fencedReplyCodes.fencingMismatch} end
local ttl = tonumber(ARGV[2])
local exp = now + ttl
redis.call('HSET', KEYS[1], 'exp', string.format('%d', exp))
redis.call('PEXPIREAT', KEYS[1], exp + math.max(ttl, tonumber(ARGV[3])))
return ${fencedReplyCodes.applied}
`,
);

/** KEYS[1] record; ARGV token, token retention ms. Leaves a tombstone keeping the token. */
export const removeScript: LuaScript = script(
  "remove",
  `
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'exp', 'lease')
local now = clock()
local class, a, b = classify(r, now)
if class == 'bad' then return {-1, a, b} end
if class ~= 'live' then return ${fencedReplyCodes.keyExpired} end
if r[2] ~= 'p' or r[3] ~= ARGV[1] then return ${fencedReplyCodes.fencingMismatch} end
redis.call('HSET', KEYS[1], 's', 'r', 'exp', string.format('%d', now))
redis.call('PEXPIREAT', KEYS[1], now + math.max(int(r[5]) or 0, tonumber(ARGV[2])))
return ${fencedReplyCodes.applied}
`,
);

/** KEYS[1] record. Replies 0 when absent, else like a claim that found a live record. */
export const getScript: LuaScript = script(
  "get",
  `
local r = redis.call('HMGET', KEYS[1], 'v', 's', 'tok', 'exp', 'fp', 'lease', 'st', 'h', 'b')
local class, a, b = classify(r, clock())
if class == 'bad' then return {-1, a, b} end
if class == 'live' then return live(r, b) end
return 0
`,
);

/**
 * KEYS[1] record; ARGV token retention ms. Replies 1 when a live entry was deleted. Keeps a
 * tombstone with the token; deletes a malformed record or a key of another type outright, and
 * the whole record when the server is out of memory (a tombstone could not be written).
 */
export const purgeScript: LuaScript = script(
  "purge",
  `
local r = redis.pcall('HMGET', KEYS[1], 'v', 's', 'tok', 'exp')
if r.err then
  redis.call('DEL', KEYS[1])
  return 1
end
local now = clock()
local class = classify(r, now)
if class == 'absent' then return 0 end
if class == 'bad' then
  redis.call('DEL', KEYS[1])
  return 1
end
local written = redis.pcall('HSET', KEYS[1], 's', 'r', 'exp', string.format('%d', now))
if type(written) == 'table' and written.err then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], 'fp', 'lease', 'st', 'h', 'b')
  redis.call('PEXPIREAT', KEYS[1], now + tonumber(ARGV[1]))
end
if class == 'live' then return 1 end
return 0
`,
);
