-- Stores (or replaces) a pending entry and indexes it, for listing and for the sweeper.
-- KEYS: 1 the entry's hash, 2 the lexical index, 3 the sweep times.
-- ARGV: 1 key, 2 version, 3 bytes, 4 size, 5 etag, 6 contentType, 7 metadata (JSON or ''),
--       8 lastModified, 9 sweepAt.
-- The lease fields are left alone: a newer version waits for the upload in flight.
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'bytes', ARGV[3], 'size', ARGV[4], 'etag', ARGV[5], 'contentType', ARGV[6], 'metadata', ARGV[7], 'lastModified', ARGV[8])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[9], ARGV[1])
return 1
