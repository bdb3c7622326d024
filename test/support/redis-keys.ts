// Removes every key under one test prefix (never FLUSHDB: the Redis is shared).
import { Redis } from 'ioredis';

export async function deleteRedisPrefix(url: string, prefix: string): Promise<number> {
  if (!prefix || prefix.includes('*')) throw new Error(`refusing to delete keys for prefix ${JSON.stringify(prefix)}`);
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}
