-- Takes the upload lease of an entry, for one version or ('') whatever version is there.
-- KEYS: 1 the entry's hash. ARGV: 1 version or '', 2 token, 3 leaseUntil, 4 now.
-- Returns {'gone'}, {'busy'} (a lease still running), or {'claimed', the entry's fields}.
local v = redis.call('HGET', KEYS[1], 'version')
if not v or (ARGV[1] ~= '' and v ~= ARGV[1]) then return {'gone'} end
local lease = redis.call('HGET', KEYS[1], 'leaseUntil')
if lease and tonumber(lease) >= tonumber(ARGV[4]) then return {'busy'} end
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'leaseUntil', ARGV[3])
local f = redis.call('HMGET', KEYS[1], 'version', 'bytes', 'size', 'etag', 'contentType', 'metadata', 'lastModified')
return {'claimed', f[1], f[2], f[3], f[4], f[5], f[6], f[7]}
