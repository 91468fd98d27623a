-- Where each window of one budget stands now, on this server's clock. Reads only.
--
-- KEYS[1]: the budget's log (see reserve.lua).
-- ARGV[2i-1], ARGV[2i]: window i's count and span (us).
--
-- Returns, per window, its remaining count (requests it lets go now without waiting) and the
-- microseconds until that count grows by one (0 when the window holds no grant). A grant
-- counts in a window while it is less than a span old, grants reserved ahead for waiting
-- callers included, as reserve.lua counts them.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i = 1, #ARGV / 2 do
  local limit = tonumber(ARGV[2 * i - 1])
  local span = tonumber(ARGV[2 * i])
  local from = string.format('(%.0f', now - span)
  local used = redis.call('ZCOUNT', key, from, '+inf')
  local next_free = 0
  if used > 0 then
    -- With more grants than the count (some reserved ahead), one more slot frees when all
    -- but count - 1 of them have stopped counting.
    local skip = math.max(0, used - limit)
    local nth = redis.call('ZRANGEBYSCORE', key, from, '+inf', 'WITHSCORES', 'LIMIT', skip, 1)
    next_free = math.max(0, tonumber(nth[2]) + span - now)
  end
  out[#out + 1] = math.max(0, limit - used)
  out[#out + 1] = next_free
end
return out
