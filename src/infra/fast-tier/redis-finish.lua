-- After an upload: removes the entry if it is still the version uploaded, else only frees the lease.
-- KEYS: 1 the entry's hash, 2 the lexical index, 3 the sweep times. ARGV: 1 key, 2 version, 3 token.
-- Returns 0 (the lease is not this token's), 1 (removed) or 2 (a newer version stays).
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[3] then return 0 end
if redis.call('HGET', KEYS[1], 'version') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  return 1
end
redis.call('HDEL', KEYS[1], 'token', 'leaseUntil')
return 2
