-- Creates or replaces a schedule, atomically. A replace keeps createdAt, lastRunAt, lastJobId and
-- fired (the schedule's history) and bumps its revision.
--   KEYS: the schedule's hash, the set of schedule ids
--   ARGV: id, cron, timezone, jobName, jobData, jobOptions, specAt (ms)
redis.call('HSET', KEYS[1], 'cron', ARGV[2], 'timezone', ARGV[3], 'jobName', ARGV[4], 'jobData', ARGV[5], 'jobOptions', ARGV[6], 'specAt', ARGV[7])
redis.call('HSETNX', KEYS[1], 'createdAt', ARGV[7])
redis.call('HSETNX', KEYS[1], 'fired', 0)
redis.call('HINCRBY', KEYS[1], 'revision', 1)
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[1])
