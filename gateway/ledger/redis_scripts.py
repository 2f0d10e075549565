"""The Lua scripts of the Redis SpendStore; each one runs atomically on the server.

Every script sees the same first four keys, all of one tenant (one hash tag, so one cluster
slot):

    KEYS[1] spent     HASH   window key -> settled nano-dollars
    KEYS[2] reserved  HASH   window key -> nano-dollars held by live holds
    KEYS[3] holds     ZSET   request id, scored by expiry (ms, Redis clock)
    KEYS[4] holdinfo  HASH   request id -> "<nanos> <window key> <window key> ..."

Time comes from the server's TIME, so replicas with skewed clocks agree on what expired.
Expired holds are dropped (and their amounts taken off `reserved`) at the start of every
script, so a crashed replica's holds stop counting as soon as anyone looks.
"""

from __future__ import annotations

_PRELUDE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function drop_hold(request_id)
  local info = redis.call('HGET', KEYS[4], request_id)
  if info then
    local amount = nil
    for word in string.gmatch(info, '%S+') do
      if amount == nil then
        amount = word
      elseif amount ~= '0' then
        local left = redis.call('HINCRBY', KEYS[2], word, '-' .. amount)
        if left <= 0 then redis.call('HDEL', KEYS[2], word) end
      end
    end
    redis.call('HDEL', KEYS[4], request_id)
  end
  redis.call('ZREM', KEYS[3], request_id)
end

local function purge_expired(now)
  for _, request_id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
    drop_hold(request_id)
  end
end
"""

# What RESERVE and TOP_UP share. ARGV: request id, amount nanos, ttl ms, then (window key,
# limit nanos) pairs.
_HOLD = """
-- The window keys if `extra` more nanos fit every window, else nil and RESERVE's refusal.
local function fitting_windows(extra)
  local window_keys = {}
  for i = 4, #ARGV, 2 do
    local spent = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
    local held = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
    local limit = tonumber(ARGV[i + 1])
    if spent + held + extra > limit then
      return nil, {0, (i - 4) / 2, string.format('%.0f', math.max(0, limit - spent - held))}
    end
    window_keys[#window_keys + 1] = ARGV[i]
  end
  return window_keys, nil
end

-- Holds ARGV[2] nanos for request ARGV[1] in `window_keys` until now + ARGV[3] ms.
local function hold(window_keys, now)
  if ARGV[2] ~= '0' then
    for _, key in ipairs(window_keys) do redis.call('HINCRBY', KEYS[2], key, ARGV[2]) end
  end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
  local info = ARGV[2]
  if #window_keys > 0 then info = info .. ' ' .. table.concat(window_keys, ' ') end
  redis.call('HSET', KEYS[4], ARGV[1], info)
end
"""

# KEYS[5] settled marker of this request.
# ARGV: request id, amount nanos, ttl ms, then (window key, limit nanos) pairs.
# Returns {1} granted (or already held), {-1} already settled, {0, window index, remaining}.
RESERVE = _PRELUDE + _HOLD + """
local now = now_ms()
purge_expired(now)
if redis.call('EXISTS', KEYS[5]) == 1 then return {-1, 0, '0'} end
if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 1 then return {1, 0, '0'} end
local window_keys, refused = fitting_windows(tonumber(ARGV[2]))
if refused then return refused end
hold(window_keys, now)
return {1, 0, '0'}
"""

# KEYS[5] settled marker of this request.
# ARGV: request id, new amount nanos, ttl ms, then (window key, limit nanos) pairs.
# Raises a live hold to the new amount; only the increase must fit (a hold that expired is
# taken anew for the whole amount). Returns like RESERVE.
TOP_UP = _PRELUDE + _HOLD + """
local now = now_ms()
purge_expired(now)
if redis.call('EXISTS', KEYS[5]) == 1 then return {-1, 0, '0'} end
local held = 0
local info = redis.call('HGET', KEYS[4], ARGV[1])
if info then held = tonumber(string.match(info, '^(%S+)')) end
local amount = tonumber(ARGV[2])
if amount <= held then return {1, 0, '0'} end
local window_keys, refused = fitting_windows(amount - held)
if refused then return refused end
drop_hold(ARGV[1])
hold(window_keys, now)
return {1, 0, '0'}
"""

# KEYS[5] settled marker, KEYS[6] durable log stream.
# ARGV: request id, actual nanos, marker ttl s, entry json, then window keys.
# Returns 1 when counted, 0 when the request was already settled.
SETTLE = _PRELUDE + """
if redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
drop_hold(ARGV[1])
if ARGV[2] ~= '0' then
  for i = 5, #ARGV do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[2]) end
end
redis.call('SET', KEYS[5], '1', 'EX', ARGV[3])
redis.call('XADD', KEYS[6], '*', 'entry', ARGV[4])
return 1
"""

# ARGV: request id.
RELEASE = _PRELUDE + """
purge_expired(now_ms())
drop_hold(ARGV[1])
return 1
"""

# ARGV: window keys. Returns spent, reserved, spent, reserved, ... as strings.
STATE = _PRELUDE + """
purge_expired(now_ms())
local out = {}
for i = 1, #ARGV do
  out[#out + 1] = redis.call('HGET', KEYS[1], ARGV[i]) or '0'
  out[#out + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or '0'
end
return out
"""
