-- Cancels a job BullMQ has active, atomically: it leaves the active list (and the stalled set, so
-- that stall recovery never runs it again, whether or not its worker lives), its lock is dropped
-- (its group slot, tied to the lock, frees with it) and its hash is deleted, so that a late
-- completion or failure by the worker finds nothing to write. The job's record (read by the
-- caller just before) is kept under our cancelled key as bullmq-cancel.lua keeps a queued one's,
-- and its log lines for as long.
--   KEYS: 1 job hash, 2 active, 3 stalled, 4 lock, 5 events, 6 cancelled copy, 7 cancelled-by-name, 8 logs
--   ARGV: 1 bull id, 2 now (ms), 3 retention (ms), 4 Workyard id, 5 record JSON, 6 cancelled event name
--   returns 1 cancelled, 0 no such job, -1 not active
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('LREM', KEYS[2], 0, ARGV[1]) == 0 then return -1 end
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4])
local started = redis.call('HGET', KEYS[1], 'ats') or '0'
redis.call('DEL', KEYS[6])
redis.call('HSET', KEYS[6], 'record', ARGV[5], 'cancelledOn', ARGV[2], 'ats', started)
redis.call('PEXPIRE', KEYS[6], ARGV[3])
redis.call('ZADD', KEYS[7], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[7], ARGV[3])
-- its log stays readable as long as the cancelled copy (why it was cancelled is often in it)
redis.call('DEL', KEYS[1])
if redis.call('EXISTS', KEYS[8]) == 1 then redis.call('PEXPIRE', KEYS[8], ARGV[3]) end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, '*', 'event', ARGV[6], 'jobId', ARGV[1])
return 1
