-- After a failed upload: frees the lease if this token holds it, so that a retry takes it at once.
-- KEYS: 1 the entry's hash. ARGV: 1 token.
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then redis.call('HDEL', KEYS[1], 'token', 'leaseUntil') end
return 1
