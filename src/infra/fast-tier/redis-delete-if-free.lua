-- Removes an entry unless an upload holds its lease.
-- KEYS: 1 the entry's hash, 2 the lexical index, 3 the sweep times. ARGV: 1 key, 2 now.
-- Returns 'none', 'busy' or 'deleted'.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'none' end
local lease = redis.call('HGET', KEYS[1], 'leaseUntil')
if lease and tonumber(lease) >= tonumber(ARGV[2]) then return 'busy' end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 'deleted'
