-- The group gate of one job name on BullMQ (bullmq-groups.ts says how it is used). Per group:
--   slots:<group>   sorted set of the jobs holding a slot: score 0 for a job admitted to run (it
--                   holds the slot while BullMQ's lock on it lasts, so a dead worker's slot
--                   frees itself when the lock expires), or the end of a reservation for a job
--                   released from parked (it holds the slot until fetched, or until then)
--   starts:<group>  sorted set of the group's starts by time, for groupRate's sliding window
--   parked:<group>  list of jobs refused a slot, oldest at the tail; released when a slot frees
-- Time is Redis's own (TIME), so workers on several machines share one clock.
--   KEYS: 1 wait, 2 prioritized, 3 active, 4 events, 5 marker, 6 stalled (BullMQ's, of the name),
--         7 how many jobs of the name are parked, 8 set of the name's groups with parked jobs,
--         9 delayed (BullMQ's)
--   ARGV: 1 command: gate | sweep | unpark
--         2 BullMQ's job key prefix ('<prefix>:<name>:'), 3 our group key prefix
--         4 groupConcurrency (0: none), 5 groupRate max (0: none), 6 groupRate window (ms)
--         7 reservation (ms), 8 how many waiting jobs a refusal looks ahead at
--         gate: 9 how many jobs leave (L), then L pairs (job id, group) of jobs whose run ended,
--               then triples (job id, group, lock token) of fetched jobs asking to run
--         unpark: 9 job id, 10 group
--   returns {ms until a rate-limited group may start again (0: none), then for each job asking
--            to run 1 (run it) or 0 (it was parked)}
local rcall = redis.call
local clock = rcall('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local jobPrefix, base = ARGV[2], ARGV[3]
local concurrency, rateMax, windowMs = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local reservationMs, lookAhead = tonumber(ARGV[7]), tonumber(ARGV[8])

local function slotsKey(group) return base .. 'slots:' .. group end
local function startsKey(group) return base .. 'starts:' .. group end
local function parkedKey(group) return base .. 'parked:' .. group end

-- Slots held now (dropping those that lapsed), and how many of them are reservations.
local function heldSlots(group)
  local key = slotsKey(group)
  local entries = rcall('ZRANGE', key, 0, -1, 'WITHSCORES')
  local held, reserved = 0, 0
  for i = 1, #entries, 2 do
    local id, reservedUntil = entries[i], tonumber(entries[i + 1])
    local live
    if reservedUntil > 0 then live = reservedUntil > now else live = rcall('EXISTS', jobPrefix .. id .. ':lock') == 1 end
    if live then
      held = held + 1
      if reservedUntil > 0 then reserved = reserved + 1 end
    else
      rcall('ZREM', key, id)
    end
  end
  return held, reserved
end

local function startsInWindow(group)
  local key = startsKey(group)
  rcall('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  return rcall('ZCARD', key)
end

-- How many more jobs of the group may start now (reservations count as started).
local function room(group)
  local held, reserved = heldSlots(group)
  local free = 1e9
  if concurrency > 0 then free = concurrency - held end
  if rateMax > 0 then free = math.min(free, rateMax - startsInWindow(group) - reserved) end
  return free
end

-- When (ms from now) the group's rate window lets one more start, 0 if it is not what holds it.
local function rateWait(group)
  if rateMax <= 0 then return 0 end
  local oldest = rcall('ZRANGE', startsKey(group), 0, 0, 'WITHSCORES')
  if #oldest == 0 or startsInWindow(group) < rateMax then return 0 end
  return math.max(1, tonumber(oldest[2]) + windowMs - now)
end

local function takeSlot(group, id)
  rcall('ZADD', slotsKey(group), 0, id)
  if rateMax > 0 then
    rcall('ZADD', startsKey(group), now, id .. ':' .. now)
    rcall('PEXPIRE', startsKey(group), windowMs + 1000)
  end
  -- the run starts now, not when BullMQ fetched it (unless it was cancelled meanwhile: its hash is gone, and stays gone)
  if rcall('EXISTS', jobPrefix .. id) == 1 then rcall('HSET', jobPrefix .. id, 'processedOn', now) end
end

-- A job of a group with no room goes to the group's parked list. One BullMQ had fetched is taken
-- back from its worker as BullMQ's own moveToDelayed does (out of the active list, lock dropped),
-- and the run it was fetched for did not start: it uses up no attempt.
local function park(group, id, token)
  if token then
    rcall('LREM', KEYS[3], 1, id)
    local lockKey = jobPrefix .. id .. ':lock'
    if rcall('GET', lockKey) == token then rcall('DEL', lockKey) end
    rcall('SREM', KEYS[6], id)
    local jobKey = jobPrefix .. id
    if tonumber(rcall('HINCRBY', jobKey, 'ats', -1)) <= 0 then rcall('HDEL', jobKey, 'ats', 'processedOn') end
    rcall('XADD', KEYS[4], 'MAXLEN', '~', 10000, '*', 'event', 'waiting', 'jobId', id, 'prev', 'active')
  end
  rcall('LPUSH', parkedKey(group), id)
  rcall('SADD', KEYS[8], group)
  rcall('INCR', KEYS[7])
end

local function groupOf(id)
  local opts = rcall('HGET', jobPrefix .. id, 'opts')
  if not opts then return nil end
  local ok, decoded = pcall(cjson.decode, opts)
  if ok and type(decoded) == 'table' and type(decoded.workyard) == 'table' and type(decoded.workyard.group) == 'string' then
    return decoded.workyard.group
  end
  return nil
end

-- After a refusal, the next waiting jobs of groups with no room are parked too, many per call:
-- without it a worker would fetch and park a busy group's jobs one by one before reaching the
-- first job of another group (ten thousand round trips behind a long queue of one group).
local function parkAhead(rooms)
  local function admissible(id)
    local group = groupOf(id)
    if not group then return true end
    local score = rcall('ZSCORE', slotsKey(group), id)
    if score then return true end -- released for a reserved slot
    if rooms[group] == nil then rooms[group] = room(group) end
    if rooms[group] > 0 then
      rooms[group] = rooms[group] - 1
      return true
    end
    park(group, id, nil)
    return false
  end
  -- BullMQ takes the wait list from its tail, then the prioritized set from its lowest score.
  local popped = rcall('RPOP', KEYS[1], lookAhead)
  if popped then
    local kept = {}
    for _, id in ipairs(popped) do
      if admissible(id) then kept[#kept + 1] = id end
    end
    for i = #kept, 1, -1 do rcall('RPUSH', KEYS[1], kept[i]) end
  end
  for _, id in ipairs(rcall('ZRANGE', KEYS[2], 0, lookAhead - 1)) do
    if not admissible(id) then rcall('ZREM', KEYS[2], id) end
  end
end

-- Parked jobs of the group go back to the head of the queue, as many as it has room for, each
-- with a slot reserved for it (so that another process's release does not send the same slot twice).
local function release(group)
  local free = room(group)
  local key = parkedKey(group)
  local released = 0
  while released < free do
    local id = rcall('RPOP', key)
    if not id then break end
    rcall('DECR', KEYS[7])
    local jobKey = jobPrefix .. id
    if rcall('EXISTS', jobKey) == 1 then
      rcall('ZADD', slotsKey(group), now + reservationMs, id)
      local priority = tonumber(rcall('HGET', jobKey, 'priority')) or 0
      -- at the front of its priority, as BullMQ puts back a job taken from active
      if priority > 0 then rcall('ZADD', KEYS[2], priority * 0x100000000, id) else rcall('RPUSH', KEYS[1], id) end
      released = released + 1
    end
  end
  if released > 0 then rcall('ZADD', KEYS[5], 0, '0') end
  if rcall('LLEN', key) == 0 then
    rcall('SREM', KEYS[8], group)
    return released, 0
  end
  return released, rateWait(group)
end

local command = ARGV[1]
local wait = 0
local function waitAlso(ms)
  if ms > 0 and (wait == 0 or ms < wait) then wait = ms end
end

if command == 'gate' then
  local leaving = tonumber(ARGV[9])
  local freed = {}
  for i = 10, 9 + 2 * leaving, 2 do
    rcall('ZREM', slotsKey(ARGV[i + 1]), ARGV[i])
    freed[ARGV[i + 1]] = true
  end
  for group in pairs(freed) do
    local _, groupWait = release(group)
    waitAlso(groupWait)
  end
  local answers = {}
  local refused = false
  for i = 10 + 2 * leaving, #ARGV, 3 do
    local id, group, token = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    local score = rcall('ZSCORE', slotsKey(group), id)
    score = score and tonumber(score)
    -- its reserved slot, or the slot it held in a run that stalled (its lock is ours now)
    if score and (score == 0 or score > now) then
      takeSlot(group, id)
      answers[#answers + 1] = 1
    else
      if score then rcall('ZREM', slotsKey(group), id) end
      if room(group) > 0 then
        takeSlot(group, id)
        answers[#answers + 1] = 1
      else
        park(group, id, token)
        waitAlso(rateWait(group))
        answers[#answers + 1] = 0
        refused = true
      end
    end
  end
  if refused then parkAhead({}) end
  table.insert(answers, 1, wait)
  return answers
elseif command == 'unpark' then
  -- A parked job moves to BullMQ's delayed set, due in a minute, where cancel finds it as it
  -- finds any delayed job (a worker could fetch it from the wait list before cancel comes); a
  -- cancel that does not follow leaves it to run then, through the gate again.
  local id, group = ARGV[9], ARGV[10]
  if rcall('LREM', parkedKey(group), 1, id) == 0 then return {0} end
  rcall('DECR', KEYS[7])
  if rcall('LLEN', parkedKey(group)) == 0 then rcall('SREM', KEYS[8], group) end
  rcall('ZADD', KEYS[9], (now + 60000) * 0x1000, id)
  return {1}
elseif command == 'sweep' then
  for _, group in ipairs(rcall('SMEMBERS', KEYS[8])) do
    local _, groupWait = release(group)
    waitAlso(groupWait)
  end
  return {wait}
end
return redis.error_reply('unknown command ' .. tostring(command))
