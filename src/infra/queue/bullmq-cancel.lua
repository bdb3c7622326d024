-- Cancels a job only if it is still waiting (wait, paused, delayed or prioritized), atomically:
-- a worker cannot take it between the check and the removal. The job's record (read by the
-- caller just before) is kept under our cancelled key, with the retention as TTL, so getJob can
-- still report it; `ats` (runs started) is copied from the hash as it stands.
--   KEYS (CancelKeys in bullmq-keys.ts): job hash, wait, paused, delayed, prioritized, events,
--        cancelled copy, cancelled-by-name, logs
--   ARGV: bull id, now (ms), retention (ms), Workyard id, record JSON, cancelled event name
--   returns 1 cancelled, 0 no such job, -1 not cancellable (active or finished)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local removed = redis.call('LREM', KEYS[2], 0, ARGV[1])
if removed == 0 then removed = redis.call('LREM', KEYS[3], 0, ARGV[1]) end
if removed == 0 then removed = redis.call('ZREM', KEYS[4], ARGV[1]) end
if removed == 0 then removed = redis.call('ZREM', KEYS[5], ARGV[1]) end
if removed == 0 then return -1 end
local started = redis.call('HGET', KEYS[1], 'ats') or '0'
redis.call('DEL', KEYS[7])
redis.call('HSET', KEYS[7], 'record', ARGV[5], 'cancelledOn', ARGV[2], 'ats', started)
redis.call('PEXPIRE', KEYS[7], ARGV[3])
redis.call('ZADD', KEYS[8], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[8], ARGV[3])
redis.call('DEL', KEYS[1], KEYS[9])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', 10000, '*', 'event', ARGV[6], 'jobId', ARGV[1])
return 1
