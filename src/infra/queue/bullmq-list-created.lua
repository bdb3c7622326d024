-- One chunk of a listing (bullmq-list-jobs.ts): the ids of a created-time sorted set after a
-- position, newest first (score descending, then id in reverse byte order, Redis's own order), in
-- one script so that no job added meanwhile shifts the ranks it reads.
--   KEYS: 1 the sorted set (WorkyardRedisKeys.createdAll or createdByName)
--   ARGV: 1 the position's score and 2 its id ('' for none: from the newest),
--         3 the newest score allowed ('+inf' or a number, inclusive), 4 the oldest allowed ('-inf' or a number, inclusive),
--         5 how many at most
--   returns id, score, id, score, …
local key = KEYS[1]
local start = 0
if ARGV[2] ~= '' then
  -- The rank the position has, or would have: its member is added for the moment if it is gone.
  local score = redis.call('ZSCORE', key, ARGV[2])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    start = redis.call('ZREVRANK', key, ARGV[2]) + 1
  elseif not score then
    redis.call('ZADD', key, ARGV[1], ARGV[2])
    start = redis.call('ZREVRANK', key, ARGV[2])
    redis.call('ZREM', key, ARGV[2])
  else
    -- the id names a newer job than the position (an id used again): start after the position's score
    start = redis.call('ZCOUNT', key, '(' .. ARGV[1], '+inf')
  end
end
if ARGV[3] ~= '+inf' then
  local newer = redis.call('ZCOUNT', key, '(' .. ARGV[3], '+inf')
  if newer > start then start = newer end
end
local found = redis.call('ZRANGE', key, start, start + tonumber(ARGV[5]) - 1, 'REV', 'WITHSCORES')
local result = {}
for i = 1, #found, 2 do
  if ARGV[4] ~= '-inf' and tonumber(found[i + 1]) < tonumber(ARGV[4]) then break end
  result[#result + 1] = found[i]
  result[#result + 1] = found[i + 1]
end
return result
