-- Reserves one slot in every window of one budget, or none.
--
-- KEYS[1]: the budget's log, a sorted set: members are grant ids, scores the instants (in
--   microseconds on this server's clock) at which the grants go, possibly in the future (a
--   caller waiting for its slot). Every grant counts in every window, as at the provider, so
--   one log serves them all: window i holds the grants of its last span.
-- ARGV[1]: this grant's id.  ARGV[2]: the longest wait (us) a quota window may impose.
-- ARGV[3]: the longest span (us): grants older than that count nowhere and are dropped.
-- ARGV[3i+1], ARGV[3i+2], ARGV[3i+3]: window i's count, span (us), and 1 when it is a quota.
--
-- Returns {1, wait}: granted; the request goes `wait` us from now (the earliest instant every
-- window allows, never before a grant already made).  Or {0, wait}: a quota window would make
-- the caller wait `wait` us, longer than allowed; nothing was consumed.
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max_quota_wait = tonumber(ARGV[2])
local longest = tonumber(ARGV[3])
-- Forgetting grants that count nowhere consumes nothing.
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - longest))
local at = now
local refused = -1
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] then at = math.max(at, tonumber(last[2])) end
for i = 1, (#ARGV - 3) / 3 do
  local limit = tonumber(ARGV[3 * i + 1])
  local span = tonumber(ARGV[3 * i + 2])
  local earliest = now
  -- The `limit`-th most recent grant (none while fewer are held): while it is within the
  -- span, the window is full and the next grant goes a span after it.
  local nth = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
  if nth[2] then earliest = math.max(now, tonumber(nth[2]) + span) end
  if ARGV[3 * i + 3] == '1' and earliest - now > max_quota_wait then
    refused = math.max(refused, earliest - now)
  end
  at = math.max(at, earliest)
end
if refused >= 0 then return {0, refused} end
redis.call('ZADD', key, string.format('%.0f', at), ARGV[1])
redis.call('PEXPIRE', key, string.format('%.0f', math.ceil((at + longest - now) / 1000) + 1))
return {1, at - now}
