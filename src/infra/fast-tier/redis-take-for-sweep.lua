-- Hands a due entry to one sweeper: pushes its sweep time on and returns its version, or false
-- when it is not due (another sweeper took it), is gone (its sweep time is dropped) or is held.
-- KEYS: 1 the entry's hash, 2 the sweep times. ARGV: 1 key, 2 now, 3 nextSweepAt.
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return false end
local v = redis.call('HGET', KEYS[1], 'version')
if not v then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return false
end
local lease = redis.call('HGET', KEYS[1], 'leaseUntil')
if lease and tonumber(lease) >= tonumber(ARGV[2]) then return false end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return v
