"""The Lua scripts that make a domain's writes safe.

Theory of operation: a domain's lease is a key holding the owner's id with a
PX expiry; its fence is a counter. Acquiring the lease (only when it is free,
or already held by the same owner id) increments the fence, and the new value
is the owner's *token*. Every write an owner makes (commit, snapshot, release)
is one of these scripts, and each first checks that the fence still equals the
caller's token: an owner that was paused past its lease and lost it to another
process gets ``{-1, current}`` back and writes nothing. Redis runs a script
atomically, so a check and the writes after it cannot be separated by another
owner's acquisition. Checks come before any write, because a script that
returns early keeps the writes it already made. The ``#!lua`` line (Redis 7)
makes Redis refuse a whole script up front when it is out of memory, instead
of failing at a write halfway through.
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "COMMIT", "RELEASE", "SNAPSHOT", "SUBMIT"]

#: KEYS: lease, fence. ARGV: owner, lease_ms.
#: Returns {token, owner} on success, {0, holder} when another owner holds it.
ACQUIRE = """#!lua
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0, holder}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {redis.call('INCR', KEYS[2]), ARGV[1]}
"""

#: KEYS: lease, fence, input, output.
#: ARGV: token, owner, lease_ms, expected_head, batch ('' = none), output_maxlen (0 = none),
#: n_out, then n_out triples (input_id, events, refusals).
#: Renews the lease, appends the outputs, then the batch.
#: Returns {1, batch_id or ''}, {-1, fence} when fenced out, {-2, head} when the log moved.
COMMIT = """#!lua
local tok = ARGV[1]
local fence = redis.call('GET', KEYS[2])
if fence ~= tok then
  return {-1, fence or ''}
end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[2] then
  return {-1, fence}
end
local batch = ARGV[5]
if batch ~= '' then
  local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
  local head = ''
  if #last > 0 then
    head = last[1][1]
  end
  if head ~= ARGV[4] then
    return {-2, head}
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
local maxlen = tonumber(ARGV[6])
local n = tonumber(ARGV[7])
local i = 8
for k = 1, n do
  local args
  if maxlen > 0 then
    args = {KEYS[4], 'MAXLEN', '~', maxlen, '*', 'tok', tok, 'in', ARGV[i], 'ev', ARGV[i + 1]}
  else
    args = {KEYS[4], '*', 'tok', tok, 'in', ARGV[i], 'ev', ARGV[i + 1]}
  end
  if ARGV[i + 2] ~= '' then
    args[#args + 1] = 'err'
    args[#args + 1] = ARGV[i + 2]
  end
  redis.call('XADD', unpack(args))
  i = i + 3
end
local id = ''
if batch ~= '' then
  id = redis.call('XADD', KEYS[3], '*', 'tok', tok, 'b', batch)
end
return {1, id}
"""

#: KEYS: fence, snapshot, input, requests.
#: ARGV: token, input_id, cur, data, trim ('1'/'0'), now.
#: Returns 1, or -1 when fenced out.
SNAPSHOT = """#!lua
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
redis.call('HSET', KEYS[2], 'in', ARGV[2], 'cur', ARGV[3], 'data', ARGV[4], 'tok', ARGV[1],
  'now', ARGV[6])
if ARGV[5] == '1' then
  redis.call('XTRIM', KEYS[3], 'MINID', ARGV[2])
  redis.call('XTRIM', KEYS[4], 'MINID', ARGV[3])
end
return 1
"""

#: KEYS: lease, fence. ARGV: token, owner. Returns 1 when released, 0 otherwise.
RELEASE = """#!lua
if redis.call('GET', KEYS[2]) ~= ARGV[1] or redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"""

#: KEYS: requests, then one idempotency key per item. ARGV: ttl_ms, then one payload per item.
#: Appends the items whose key is new as ONE entry (field 'a': a MessagePack array of them).
#: Returns a flat list: 'new', entry id or 'dup', id-of-the-first-add per item.
SUBMIT = """#!lua
local seen = {}
local fresh = {}
local parts = {}
local out = {}
for i = 2, #KEYS do
  local k = KEYS[i]
  local prev = redis.call('GET', k)
  if prev or seen[k] then
    out[#out + 1] = 'dup'
    out[#out + 1] = prev or ''
  else
    seen[k] = true
    fresh[#fresh + 1] = k
    parts[#parts + 1] = ARGV[i]
    out[#out + 1] = 'new'
    out[#out + 1] = ''
  end
end
local n = #parts
if n == 0 then
  return out
end
local hdr
if n < 16 then
  hdr = string.char(0x90 + n)
elseif n < 65536 then
  hdr = string.char(0xdc, math.floor(n / 256), n % 256)
else
  hdr = string.char(0xdd, math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256,
    math.floor(n / 256) % 256, n % 256)
end
local id = redis.call('XADD', KEYS[1], '*', 'a', hdr .. table.concat(parts))
for _, k in ipairs(fresh) do
  redis.call('SET', k, id, 'PX', ARGV[1])
end
for j = 2, #out, 2 do
  if out[j] == '' then
    out[j] = id
  end
end
return out
"""
