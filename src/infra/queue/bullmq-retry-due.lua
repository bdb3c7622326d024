-- A retry waits in BullMQ's delayed set, whose score alone holds its due time, and BullMQ forgets
-- it once the job is due. This copies it into the job's options (workyard.runAt), so the job's
-- record still says when it was last due once it runs and after it finished.
--   KEYS: 1 the queue's delayed set, 2 the job hash
--   ARGV: 1 the job's BullMQ id
--   returns 1 if the due time was copied, 0 if the job no longer waits (already due, or gone)
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
local raw = redis.call('HGET', KEYS[2], 'opts')
if not raw then return 0 end
local opts = cjson.decode(raw)
opts.workyard = opts.workyard or {}
opts.workyard.runAt = math.floor(tonumber(score) / 0x1000)
redis.call('HSET', KEYS[2], 'opts', cjson.encode(opts))
return 1
