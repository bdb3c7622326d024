-- After BullMQ queued a dead job again (Job.retry): its count of stalls starts again, its stack
-- goes with the error BullMQ cleared, and it holds its key again unless another job took it
-- meanwhile (then it runs without: the newer job keeps the key).
--   KEYS: 1 the job's hash, 2 its key's string (WorkyardRedisKeys.jobKey; any name when it has none)
--   ARGV: 1 the job's BullMQ id, 2 '1' if the job has a key
redis.call('HDEL', KEYS[1], 'stc', 'wy:stack')
if ARGV[2] == '1' then
  local holder = redis.call('GET', KEYS[2])
  if not holder then
    redis.call('SET', KEYS[2], ARGV[1])
  elseif holder == ARGV[1] then
    redis.call('PERSIST', KEYS[2])
  end
end
return 1
