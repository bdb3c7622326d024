-- Appends a line to a job's log (ctx.log) and trims the log to its bound, atomically; then adds
-- the line to the queue's event stream, where subscribers in every process read it. BullMQ's own
-- addLog bounds the number of lines only (keepLogs) and keeps no time: each entry here is
-- "<ISO time> <message>" (the time is 24 characters), in BullMQ's list of the job's logs, so that
-- bull-board shows it and BullMQ removes it with the job.
--   KEYS: job hash, job logs list, the queue's event stream
--   ARGV: bull id, entry, max lines, max bytes (of the messages), event name, time (ms), message
--   returns 1, or 0 when there is no such job
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local TIME_PREFIX = 25
local maxLines = tonumber(ARGV[3])
local maxBytes = tonumber(ARGV[4])
if redis.call('RPUSH', KEYS[2], ARGV[2]) > maxLines then redis.call('LTRIM', KEYS[2], -maxLines, -1) end
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
local bytes = {}
local total = 0
for i = 1, #entries do
  bytes[i] = math.max(0, #entries[i] - TIME_PREFIX)
  total = total + bytes[i]
end
local drop = 0
while total > maxBytes and drop < #entries do
  drop = drop + 1
  total = total - bytes[drop]
end
if drop > 0 then redis.call('LTRIM', KEYS[2], drop, -1) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 10000, '*', 'event', ARGV[5], 'jobId', ARGV[1], 'at', ARGV[6], 'message', ARGV[7])
return 1
