-- One request counted in a fixed window: KEYS[1] the counter, ARGV[1] the window in ms.
-- Returns {count, ms left}; a counter left without an expiry (ttl < 0) gets one.
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if current == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}
