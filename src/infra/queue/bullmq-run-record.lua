-- Keeps a failed run with its job, in BullMQ's own hash of the job (so that BullMQ's removal of
-- the job, by retention, removes it too), and the run's stack; nothing if the job is gone (a
-- field written then would bring back a hash with no job).
--   KEYS: 1 the job's hash
--   ARGV: 1 the runs' field, 2 the run (JSON), 3 the stack ('' for none)
--   returns 1 if kept, 0 if the job is gone
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local runs = redis.call('HGET', KEYS[1], ARGV[1])
-- the runs are comma-separated JSON objects (attempt-history.ts)
if runs then runs = runs .. ',' .. ARGV[2] else runs = ARGV[2] end
redis.call('HSET', KEYS[1], ARGV[1], runs)
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], 'wy:stack')
else
  redis.call('HSET', KEYS[1], 'wy:stack', ARGV[3])
end
return 1
