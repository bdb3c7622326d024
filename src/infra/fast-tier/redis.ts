// The fast tier in Redis (scaled shape). Only safe with persistence: a Redis without an append-
// only file forgets acknowledged blobs when it restarts, which is the flaw this module exists to
// fix, so a Redis that says appendonly=no is refused at start. With appendfsync everysec a power
// cut can still lose the last second; appendfsync always closes that gap (see the README).
//
// Layout: one hash per pending key, a lexical index (sorted set, all scores 0) for listings, and a
// sorted set of sweep times. Every change to them is one Lua script, so they never disagree.
import type { Redis } from 'ioredis';
import { callDependency } from '../dependency-errors.js';
import { firstConnection } from '../redis/connection.js';
import { loadLua } from '../redis/lua.js';
import type { ClaimResult, FastTier, PendingEntry, PendingMeta } from './contract.js';

// Each script names its KEYS and ARGV at its top.
const PUT = loadLua(import.meta.url, 'redis-put.lua');
const CLAIM = loadLua(import.meta.url, 'redis-claim.lua');
const FINISH = loadLua(import.meta.url, 'redis-finish.lua');
const RELEASE = loadLua(import.meta.url, 'redis-release.lua');
const DELETE_IF_FREE = loadLua(import.meta.url, 'redis-delete-if-free.lua');
const TAKE_FOR_SWEEP = loadLua(import.meta.url, 'redis-take-for-sweep.lua');

type Script = (...args: (string | number | Buffer)[]) => Promise<unknown>;

export class RedisFastTier implements FastTier {
  readonly name = 'redis';
  private readonly indexKey: string;
  private readonly sweepKey: string;
  private readonly scripts: Record<'put' | 'claim' | 'finish' | 'release' | 'deleteIfFree' | 'takeForSweep', Script>;

  constructor(
    private readonly client: Redis,
    private readonly options: { prefix: string; timeoutMs: number },
  ) {
    this.indexKey = `${options.prefix}:blobs:pending-index`;
    this.sweepKey = `${options.prefix}:blobs:pending-sweep`;
    const define = (name: string, lua: string, numberOfKeys: number) => {
      if (!(client as any)[name]) client.defineCommand(name, { lua, numberOfKeys });
      // The Buffer variant leaves replies as bytes: the blob's bytes must not pass through UTF-8.
      return ((...args: (string | number | Buffer)[]) => (client as any)[`${name}Buffer`](...args)) as Script;
    };
    this.scripts = {
      put: define('workyardBlobsPut', PUT, 3),
      claim: define('workyardBlobsClaim', CLAIM, 1),
      finish: define('workyardBlobsFinish', FINISH, 3),
      release: define('workyardBlobsRelease', RELEASE, 1),
      deleteIfFree: define('workyardBlobsDeleteIfFree', DELETE_IF_FREE, 3),
      takeForSweep: define('workyardBlobsTakeForSweep', TAKE_FOR_SWEEP, 2),
    };
  }

  /**
   * Refuses a Redis that does not persist what it is given (when it lets us ask). Runs once, at
   * start: it waits for the connection, so that a Redis still connecting is not taken for one
   * that forbids the question.
   */
  async checkPersistence(log?: { warn(obj: object, msg: string): void }): Promise<void> {
    await callDependency('redis', Math.max(5_000, this.options.timeoutMs), () => firstConnection(this.client));
    let reply: string[];
    try {
      reply = (await this.call(() => this.client.config('GET', 'appendonly'))) as string[];
    } catch (error) {
      // Managed Redis services often forbid CONFIG (an error reply); they persist by their own settings.
      if ((error as Error).name !== 'ReplyError') throw error;
      log?.warn({ err: error }, 'cannot read the Redis persistence settings (CONFIG GET refused): make sure it has an append-only file');
      return;
    }
    if (reply[1] !== 'yes') {
      throw new Error(
        'WORKYARD_BLOBS_WRITE_BEHIND keeps acknowledged blobs in Redis until they are uploaded, but this Redis has no append-only file (appendonly no) and would lose them on a restart: turn on appendonly, or set WORKYARD_BLOBS_FAST_TIER=sql',
      );
    }
  }

  private entryKey(key: string): string {
    return `${this.options.prefix}:blobs:pending:${key}`;
  }

  private call<T>(command: () => Promise<T>): Promise<T> {
    return callDependency('redis', this.options.timeoutMs, command);
  }

  async put(entry: PendingEntry, sweepAt: number): Promise<void> {
    await this.call(() =>
      this.scripts.put(
        this.entryKey(entry.key), this.indexKey, this.sweepKey,
        entry.key, entry.version, entry.bytes, entry.size, entry.etag, entry.contentType, entry.metadata ? JSON.stringify(entry.metadata) : '', entry.lastModified, sweepAt,
      ),
    );
  }

  async get(key: string): Promise<PendingEntry | null> {
    const fields = await this.call(() => this.client.hmgetBuffer(this.entryKey(key), 'version', 'bytes', 'size', 'etag', 'contentType', 'metadata', 'lastModified'));
    return fields[0] ? entryOf(key, fields as Buffer[]) : null;
  }

  async head(key: string): Promise<PendingMeta | null> {
    const fields = await this.call(() => this.client.hmget(this.entryKey(key), 'version', 'size', 'etag', 'contentType', 'metadata', 'lastModified'));
    return fields[0] ? metaOf(key, fields as string[]) : null;
  }

  async claim(key: string, version: string | null, token: string, leaseUntil: number, now: number): Promise<ClaimResult> {
    const reply = (await this.call(() => this.scripts.claim(this.entryKey(key), version ?? '', token, leaseUntil, now))) as Buffer[];
    const outcome = reply[0].toString();
    if (outcome !== 'claimed') return { outcome: outcome as 'busy' | 'gone' };
    return { outcome: 'claimed', entry: entryOf(key, reply.slice(1)) };
  }

  async finish(key: string, version: string, token: string): Promise<void> {
    await this.call(() => this.scripts.finish(this.entryKey(key), this.indexKey, this.sweepKey, key, version, token));
  }

  async release(key: string, token: string): Promise<void> {
    await this.call(() => this.scripts.release(this.entryKey(key), token));
  }

  async deleteIfFree(key: string, now: number): Promise<'deleted' | 'none' | 'busy'> {
    const reply = await this.call(() => this.scripts.deleteIfFree(this.entryKey(key), this.indexKey, this.sweepKey, key, now));
    return String(reply) as 'deleted' | 'none' | 'busy';
  }

  async list(options: { prefix: string; cursor?: string; limit: number }): Promise<PendingMeta[]> {
    const prefix = Buffer.from(options.prefix);
    const cursor = options.cursor === undefined ? undefined : Buffer.from(options.cursor);
    // Redis orders members bytewise: a lexical range from the prefix (or after the cursor) up to
    // prefix + 0xFF, a byte no UTF-8 key contains, is exactly the keys under the prefix.
    const min = cursor && Buffer.compare(cursor, prefix) >= 0 ? Buffer.concat([Buffer.from('('), cursor]) : prefix.length ? Buffer.concat([Buffer.from('['), prefix]) : Buffer.from('-');
    const max = prefix.length ? Buffer.concat([Buffer.from('['), prefix, Buffer.from([0xff])]) : Buffer.from('+');
    const keys = await this.call(() => this.client.zrangebylexBuffer(this.indexKey, min, max, 'LIMIT', 0, options.limit));
    if (!keys.length) return [];
    const pipeline = this.client.pipeline();
    for (const key of keys) pipeline.hmget(this.entryKey(key.toString()), 'version', 'size', 'etag', 'contentType', 'metadata', 'lastModified');
    const replies = (await this.call(() => pipeline.exec())) ?? [];
    const metas: PendingMeta[] = [];
    replies.forEach(([error, fields], index) => {
      if (!error && (fields as string[])[0]) metas.push(metaOf(keys[index].toString(), fields as string[]));
    });
    return metas;
  }

  async takeDueForSweep(now: number, nextSweepAt: number, limit: number): Promise<{ key: string; version: string }[]> {
    const due = await this.call(() => this.client.zrangebyscore(this.sweepKey, '-inf', now, 'LIMIT', 0, limit));
    const taken: { key: string; version: string }[] = [];
    for (const key of due) {
      const version = await this.call(() => this.scripts.takeForSweep(this.entryKey(key), this.sweepKey, key, now, nextSweepAt));
      if (version) taken.push({ key, version: version.toString() });
    }
    return taken;
  }
}

function metaOf(key: string, [version, size, etag, contentType, metadata, lastModified]: string[]): PendingMeta {
  return {
    key,
    version,
    size: Number(size),
    etag,
    contentType,
    lastModified: Number(lastModified),
    ...(metadata ? { metadata: JSON.parse(metadata) as Record<string, string> } : {}),
  };
}

function entryOf(key: string, [version, bytes, size, etag, contentType, metadata, lastModified]: Buffer[]): PendingEntry {
  const meta = metaOf(key, [version, size, etag, contentType, metadata, lastModified].map((field) => field?.toString() ?? ''));
  return { ...meta, bytes: Buffer.from(bytes ?? Buffer.alloc(0)) };
}
