-- Records the run of a due time only if the schedule is still at the revision and lastRunAt the
-- caller computed it from: of the processes firing one due time, exactly one wins.
--   KEYS: the schedule's hash
--   ARGV: revision, previous lastRunAt ('' for none), dueAt, jobId
--   returns 1 recorded, 0 refused (changed, removed or already recorded)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'revision') ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[1], 'lastRunAt') or '') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'lastRunAt', ARGV[3], 'lastJobId', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'fired', 1)
return 1
