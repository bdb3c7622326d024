-- Frees a job's key `ttl` ms after the job finished, unless a newer job took the key meanwhile
-- (replace and debounce hand the key on once the job has started).
--   KEYS: 1 key
--   ARGV: 1 the finished job's BullMQ id, 2 ttl (ms)
--   returns 1 if the key's expiry was set, 0 if the key is another job's (or gone)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
