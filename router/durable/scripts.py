"""The Lua scripts that make a domain's writes safe and its keys bounded.

Theory of operation: a domain's lease is a key holding the owner's id with a
PX expiry; its fence is a counter. Acquiring the lease (only when it is free,
or already held by the same owner id) increments the fence, and the new value
is the owner's *token*. Every write an owner makes (commit, snapshot, dead
letter, renewal, release) is one of these scripts, and each first checks that
the fence still equals the caller's token and the lease names the caller: an
owner that was paused past its lease and lost it to another process gets
``{-1, current}`` back and writes nothing. Redis runs a script atomically, so a
check and the writes after it cannot be separated by another owner's
acquisition. Checks come before any write, because a script that returns early
keeps the writes it already made. The ``#!lua`` line (Redis 7) makes Redis
refuse a whole script up front when it is out of memory, instead of failing at
a write halfway through.

Every script that appends outputs takes the *pending outputs* (events of
batches already logged and applied, not yet published) and appends them first,
in log order: the snapshot script does too, so a snapshot never covers a batch
whose outputs are not in the ``output`` stream.

Bounded keys: a producer's ``SUBMIT`` refuses when the domain's unprocessed
submissions (``flow.added - flow.taken``) would pass the limit; the idempotency
set ``idem`` (key -> score of the request id) is trimmed by the snapshot script
to the dedupe window, never past the log's cursor; the ``output`` stream is
trimmed to what every consumer group has acknowledged (or to a retention time
when no group is registered), always keeping its newest entry.
"""

from __future__ import annotations

__all__ = [
    "ACQUIRE",
    "COMMIT",
    "DEAD_LETTER",
    "RELEASE",
    "RENEW",
    "SNAPSHOT",
    "SUBMIT",
    "id_score",
]

#: Request ids are scored ``ms * 1024 + min(seq, 1023)`` in the ``idem`` set: exact in a
#: double (ms < 2^43), and ordered like the ids (up to 1,024 adds in one millisecond).
_ID_SCORE = """
local function id_score(id)
  local dash = string.find(id, '-', 1, true)
  local ms = tonumber(string.sub(id, 1, dash - 1))
  local seq = tonumber(string.sub(id, dash + 1))
  if seq > 1023 then seq = 1023 end
  return ms * 1024 + seq
end
"""

#: KEYS[1..2] are always lease and fence; ARGV[1..3] token, owner, lease_ms.
_FENCE = """
local function fenced()
  local fence = redis.call('GET', KEYS[2])
  if fence ~= ARGV[1] then
    return {-1, fence or ''}
  end
  local holder = redis.call('GET', KEYS[1])
  if holder and holder ~= ARGV[2] then
    return {-1, fence}
  end
  return nil
end
"""

#: Append n output triples from ARGV[i..] to stream `key`; returns the next ARGV index.
_OUTPUTS = """
local function append_outputs(key, n, i)
  for k = 1, n do
    local args = {key, '*', 'tok', ARGV[1], 'in', ARGV[i], 'ev', ARGV[i + 1]}
    if ARGV[i + 2] ~= '' then
      args[#args + 1] = 'err'
      args[#args + 1] = ARGV[i + 2]
    end
    redis.call('XADD', unpack(args))
    i = i + 3
  end
  return i
end
"""


def _script(*parts: str) -> str:
    return "#!lua\n" + "".join(parts)


#: KEYS: lease, fence, flow. ARGV: owner, lease_ms, limit (0 = none).
#: Returns {token, owner} on success, {0, holder} when another owner holds it.
ACQUIRE = _script("""
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {0, holder}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[3], 'limit', ARGV[3])
return {redis.call('INCR', KEYS[2]), ARGV[1]}
""")

#: KEYS: lease, fence. ARGV: token, owner, lease_ms. Returns {1} or {-1, fence}.
RENEW = _script(
    _FENCE,
    """
local refused = fenced()
if refused then return refused end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {1}
""",
)

#: KEYS: lease, fence, input, output, flow.
#: ARGV: token, owner, lease_ms, expected_head, batch ('' = none), taken, n_out,
#: then n_out triples (input_id, events, refusals).
#: Renews the lease, appends the outputs, then the batch, and counts the batch's
#: submissions as taken. Returns {1, batch_id or ''}, {-1, fence} when fenced out,
#: {-2, head} when the log moved.
COMMIT = _script(
    _FENCE,
    _OUTPUTS,
    """
local refused = fenced()
if refused then return refused end
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
append_outputs(KEYS[4], tonumber(ARGV[7]), 8)
local id = ''
if batch ~= '' then
  id = redis.call('XADD', KEYS[3], '*', 'tok', ARGV[1], 'b', batch)
  local taken = tonumber(ARGV[6])
  if taken > 0 then
    redis.call('HINCRBY', KEYS[5], 'taken', taken)
  end
end
return {1, id}
""",
)

#: KEYS: lease, fence, snapshot, input, requests, output, idem.
#: ARGV: token, owner, lease_ms, input_id, cur, data, now, trim ('1'/'0'),
#: dedupe_window_ms, output_retention_ms (< 0: never trim outputs), n_out, then n_out
#: output triples.
#: Publishes the pending outputs, stores the snapshot, renews the lease, trims
#: the input log and the consumed requests (when trim), the idempotency set to
#: the dedupe window (never past the cursor) and the output stream to what every
#: consumer group acknowledged (or to the retention time without groups),
#: keeping its newest entry. Returns {1, idem trimmed, outputs trimmed} or {-1, fence}.
SNAPSHOT = _script(
    _FENCE,
    _OUTPUTS,
    _ID_SCORE,
    """
local refused = fenced()
if refused then return refused end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
append_outputs(KEYS[6], tonumber(ARGV[11]), 12)
redis.call('HSET', KEYS[3], 'in', ARGV[4], 'cur', ARGV[5], 'data', ARGV[6], 'tok', ARGV[1],
  'now', ARGV[7])
if ARGV[8] == '1' then
  redis.call('XTRIM', KEYS[4], 'MINID', ARGV[4])
  redis.call('XTRIM', KEYS[5], 'MINID', ARGV[5])
end
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cut = (now_ms - tonumber(ARGV[9])) * 1024
local cur_score = id_score(ARGV[5])
if cur_score % 1024 < 1023 then
  cur_score = cur_score + 1  -- the cursor's own entry is consumed too
end
if cur_score < cut then cut = cur_score end
local idem_trimmed = redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', string.format('(%.0f', cut))
local newest = redis.call('XREVRANGE', KEYS[6], '+', '-', 'COUNT', 1)
local out_trimmed = 0
if #newest > 0 and tonumber(ARGV[10]) >= 0 then
  local keep = newest[1][1]
  local groups = redis.call('XINFO', 'GROUPS', KEYS[6])
  local keep_score = id_score(keep)
  if #groups == 0 then
    local retention = tonumber(ARGV[10])
    local old = (now_ms - retention) * 1024
    if old < keep_score then
      keep = string.format('%.0f-0', now_ms - retention)
      keep_score = old
    end
  end
  for _, g in ipairs(groups) do
    local info = {}
    for j = 1, #g, 2 do info[g[j]] = g[j + 1] end
    local first = info['last-delivered-id']
    if info['pending'] > 0 then
      local summary = redis.call('XPENDING', KEYS[6], info['name'])
      first = summary[2]
    end
    local s = id_score(first)
    if s < keep_score then
      keep = first
      keep_score = s
    end
  end
  out_trimmed = redis.call('XTRIM', KEYS[6], 'MINID', keep)
end
return {1, idem_trimmed, out_trimmed}
""",
)

#: KEYS: lease, fence, output, dead.
#: ARGV: token, owner, lease_ms, batch_id, message, batch, items (MessagePack array, per
#: crashing input its index, or [index, error] when its error is not ``message``; '' for
#: the whole batch), n_out, then n_out triples of outputs pending before it.
#: Publishes the pending outputs and records the batch in the dead-letter stream
#: (field ``items`` only when some inputs of the batch are served). The dead
#: batch's own output entry is not written here: the owner rebuilds its core
#: from the log, and that replay queues the entry like any unpublished output
#: (the same function gives it to a successor and to the audit).
#: Returns {1} or {-1, fence}.
DEAD_LETTER = _script(
    _FENCE,
    _OUTPUTS,
    """
local refused = fenced()
if refused then return refused end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
append_outputs(KEYS[3], tonumber(ARGV[8]), 9)
local args = {KEYS[4], 'MAXLEN', '~', 1000, '*', 'in', ARGV[4], 'tok', ARGV[1],
  'err', ARGV[5], 'b', ARGV[6]}
if ARGV[7] ~= '' then
  args[#args + 1] = 'items'
  args[#args + 1] = ARGV[7]
end
redis.call('XADD', unpack(args))
return {1}
""",
)

#: KEYS: lease, fence. ARGV: token, owner. Returns 1 when released, 0 otherwise.
RELEASE = _script("""
if redis.call('GET', KEYS[2]) ~= ARGV[1] or redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
""")

#: KEYS: requests, idem, flow. ARGV: default limit (0 = none), then (key, payload) pairs.
#: Appends the items whose key is new as ONE entry (field 'a': a MessagePack array
#: of them; field 'n': how many), unless the domain's unprocessed submissions
#: would pass its limit. Returns {'full', backlog, limit} when refused, else a
#: flat list: 'new' or 'dup', then the request id (a score for a 'dup' seen
#: before this call), per item.
SUBMIT = _script(
    _ID_SCORE,
    """
local seen = {}
local fresh = {}
local parts = {}
local out = {}
for i = 2, #ARGV, 2 do
  local k = ARGV[i]
  local prev = redis.call('ZSCORE', KEYS[2], k)
  if prev or seen[k] then
    out[#out + 1] = 'dup'
    out[#out + 1] = prev or ''
  else
    seen[k] = true
    fresh[#fresh + 1] = k
    parts[#parts + 1] = ARGV[i + 1]
    out[#out + 1] = 'new'
    out[#out + 1] = ''
  end
end
local n = #parts
if n == 0 then
  return out
end
local flow = redis.call('HMGET', KEYS[3], 'added', 'taken', 'limit')
local backlog = tonumber(flow[1] or '0') - tonumber(flow[2] or '0')
if backlog < 0 then backlog = 0 end
local limit = tonumber(flow[3] or ARGV[1])
if limit > 0 and backlog + n > limit then
  return {'full', tostring(backlog), tostring(limit)}
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
local id = redis.call('XADD', KEYS[1], '*', 'a', hdr .. table.concat(parts), 'n', n)
redis.call('HINCRBY', KEYS[3], 'added', n)
local score = id_score(id)
for _, k in ipairs(fresh) do
  redis.call('ZADD', KEYS[2], score, k)
end
for j = 2, #out, 2 do
  if out[j] == '' then
    out[j] = id
  end
end
return out
""",
)


def id_score(entry_id: str) -> int:
    """The ``idem`` score of a request id (see ``_ID_SCORE``)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms) * 1024 + min(int(seq or 0), 1023)
