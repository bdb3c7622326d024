-- Enqueues a job with a key (EnqueueOptions.key), atomically: two processes enqueueing one key
-- at once store one job, and a worker cannot take a job while its data is being replaced.
-- The key (ours) holds the BullMQ id of the job that took it; the job, once BullMQ dropped it
-- (retention, cancellation), no longer holds the key.
--   keep:     the key's job wins, whatever its state.
--   replace:  the key's job, while queued or delayed, takes the new data, run time, priority and
--             timeout (same id); once started, a new job takes the key.
--   debounce: as replace, but only data and run time change.
-- Adding and moving jobs writes BullMQ's own structures the way BullMQ 6.7's add scripts do
-- (storeJob, addJobWithPriority, addDelayedJob and the markers that wake its workers); BullMQ's
-- deduplication option only replaces delayed jobs and frees its key when the job finishes, so it
-- cannot give these semantics. The conformance suite and bullmq-job-keys.test.ts guard the copy.
--   KEYS: 1 key, 2 meta, 3 marker, 4 wait, 5 paused, 6 prioritized, 7 delayed, 8 active,
--         9 events, 10 pc (priority counter), 11 index (ours: id -> name), 12 the cancelled copy
--         of the new job's id (ours: a chosen id may name a cancelled job)
--   ARGV: 1 queue key prefix ('<prefix>:<name>:'), 2 new job's BullMQ id, 3 its Workyard id,
--         4 name, 5 mode, 6 data JSON, 7 new job's opts JSON, 8 now (ms), 9 run at (ms),
--         10 priority, 11 timeoutMs ('' for none), 12 global prefix, 13 '1' if the id was chosen
--   returns { outcome, BullMQ id or job name }: 'added', 'kept', 'replaced',
--           or 'taken' (a chosen id already names a job, of the name returned)
local rcall = redis.call
local prefix, newId, name, mode = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local now, runAt, priority = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])

local function maxEvents()
  local max = rcall('HGET', KEYS[2], 'opts.maxLenEvents')
  if not max then
    max = 10000
    rcall('HSET', KEYS[2], 'opts.maxLenEvents', max)
  end
  return max
end

-- BullMQ's isQueuePausedOrMaxed: a paused queue (or one at its global concurrency) gets no marker.
local function pausedOrMaxed()
  local meta = rcall('HMGET', KEYS[2], 'paused', 'concurrency')
  if meta[1] then return true end
  if meta[2] then return rcall('LLEN', KEYS[8]) >= tonumber(meta[2]) end
  return false
end

-- Puts a stored job where a worker finds it when due: the delayed set (score: due time * 0x1000
-- plus an order within the millisecond, as BullMQ's getDelayedScore) or the prioritized set
-- (score: priority * 2^32 plus a counter, so FIFO within a priority).
local function place(jobId, jobPriority)
  if runAt > now then
    local minScore, maxScore = runAt * 0x1000, (runAt + 1) * 0x1000 - 1
    local score = minScore
    local last = rcall('ZREVRANGEBYSCORE', KEYS[7], maxScore, minScore, 'WITHSCORES', 'LIMIT', 0, 1)
    if last[2] then score = math.min(tonumber(last[2]) + 1, maxScore) end
    rcall('ZADD', KEYS[7], score, jobId)
    rcall('XADD', KEYS[9], 'MAXLEN', '~', maxEvents(), '*', 'event', 'delayed', 'jobId', jobId, 'delay', runAt)
    local first = rcall('ZRANGE', KEYS[7], 0, 0, 'WITHSCORES')
    if first[2] then rcall('ZADD', KEYS[3], tonumber(first[2]) / 0x1000, '1') end
  else
    local counter = rcall('INCR', KEYS[10])
    rcall('ZADD', KEYS[6], jobPriority * 0x100000000 + counter % 0x100000000, jobId)
    if not pausedOrMaxed() then rcall('ZADD', KEYS[3], 0, '0') end
    rcall('XADD', KEYS[9], 'MAXLEN', '~', maxEvents(), '*', 'event', 'waiting', 'jobId', jobId)
  end
end

local current = rcall('GET', KEYS[1])
if current and rcall('EXISTS', prefix .. current) == 1 then
  if mode == 'keep' then return { 'kept', current } end
  local waiting = rcall('ZREM', KEYS[6], current) + rcall('ZREM', KEYS[7], current)
  if waiting == 0 then waiting = rcall('LREM', KEYS[4], 0, current) end
  if waiting == 0 then waiting = rcall('LREM', KEYS[5], 0, current) end
  if waiting > 0 then
    local jobKey = prefix .. current
    local opts = cjson.decode(rcall('HGET', jobKey, 'opts'))
    opts.workyard = opts.workyard or {}
    if mode == 'replace' then
      opts.priority = priority
      opts.workyard.timeoutMs = tonumber(ARGV[11])
    else
      priority = tonumber(rcall('HGET', jobKey, 'priority')) or priority
    end
    opts.workyard.runAt = runAt
    local delay = math.max(0, runAt - now)
    opts.delay = delay
    rcall('HSET', jobKey, 'data', ARGV[6], 'opts', cjson.encode(opts), 'priority', priority, 'delay', delay)
    place(current, priority)
    return { 'replaced', current }
  end
end

-- The key is free, or its job has started and replace/debounce start another: a new job takes it.
local jobKey = prefix .. newId
if ARGV[13] == '1' then
  local owner = rcall('HGET', KEYS[11], ARGV[3])
  if owner and (rcall('EXISTS', ARGV[12] .. ':' .. owner .. ':' .. newId) == 1 or rcall('EXISTS', KEYS[12]) == 1) then
    return { 'taken', owner }
  end
end
rcall('HMSET', jobKey, 'name', name, 'data', ARGV[6], 'opts', ARGV[7], 'timestamp', now,
  'delay', math.max(0, runAt - now), 'priority', priority)
rcall('XADD', KEYS[9], '*', 'event', 'added', 'jobId', newId, 'name', name)
place(newId, priority)
rcall('SET', KEYS[1], newId)
rcall('HSET', KEYS[11], ARGV[3], name)
return { 'added', newId }
