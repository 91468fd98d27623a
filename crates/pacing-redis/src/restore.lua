-- Adds grants a process made without this server (or that this server lost) to one budget.
--
-- KEYS[1]: the budget's log, as in reserve.lua.  ARGV[1]: the longest span (us).
-- Then pairs: a grant id, and how long ago it was made (us; negative: ahead of now).
-- A grant already held (same id) keeps its instant; one that counts nowhere is not added.
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local longest = tonumber(ARGV[1])
for j = 2, #ARGV, 2 do
  local at = now - tonumber(ARGV[j + 1])
  if at + longest > now then
    redis.call('ZADD', key, 'NX', string.format('%.0f', at), ARGV[j])
  end
end
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] then
  local ttl = math.ceil((tonumber(last[2]) + longest - now) / 1000) + 1
  if ttl > 0 then redis.call('PEXPIRE', key, string.format('%.0f', ttl)) end
end
return 1
