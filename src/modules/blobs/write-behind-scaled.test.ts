// Write-behind in the scaled shape: PostgreSQL, Redis (BullMQ queue and the fast tier) and S3
// (s3rver). The fast tier is Redis only when Redis persists what it is given.
import { randomBytes } from 'node:crypto';
import { buffer as readAll } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis } from '../../../test/support/redis-server.js';
import { type S3rverHandle, startS3rver } from '../../../test/support/s3rver.js';
import { createTestDatabase, needService, uniqueRedisPrefix } from '../../../test/support/services.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { createBlobsModule } from './index.js';

const ready = (await needService('postgres')) && (await needService('redis'));

describe.skipIf(!ready)('write-behind, scaled shape', () => {
  let s3: S3rverHandle;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    [s3, database, redis] = await Promise.all([startS3rver(), createTestDatabase(), startPrivateRedis({ appendFsync: 'always' })]);
  });
  afterAll(async () => {
    await s3?.stop();
    await database?.drop();
    await redis?.stop();
  });
  const scaledEnv = (redisUrlToUse: string) => ({
    ...s3.env('scaled-behind'),
    WORKYARD_DATABASE_URL: database.url,
    WORKYARD_REDIS_URL: redisUrlToUse,
    WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('blobs'),
    WORKYARD_BLOBS_WRITE_BEHIND: 'true',
    WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000',
  });

  it('keeps blobs in a Redis with an append-only file, serves them from there, and uploads them with BullMQ', async () => {
    const blobs = createBlobsModule();
    const wy = await startTestWorkyard(scaledEnv(redis.url), { modules: [blobs] });
    try {
      expect(wy.workyard.ctx.drivers).toMatchObject({ queue: 'bullmq', blobs: 's3' });
      const tier = wy.workyard.instanceOf(blobs).service.writeBehind!.tier;
      expect(tier.name).toBe('redis');
      const bytes = randomBytes(200_000);
      const put = await wy.workyard.app.inject({ method: 'PUT', url: '/blobs/scaled/a', headers: { 'content-type': 'image/avif' }, payload: bytes });
      expect(put.statusCode).toBe(201);
      expect((await wy.workyard.app.inject({ url: '/blobs/scaled/a' })).rawPayload.equals(bytes)).toBe(true);
      await expect.poll(() => tier.head('scaled/a'), { timeout: 30_000 }).toBeNull();
      const stored = await wy.workyard.ctx.blobs.get('scaled/a');
      expect(stored!.meta).toMatchObject({ etag: put.json().etag, contentType: 'image/avif' });
      expect((await readAll(stored!.body)).equals(bytes)).toBe(true);
    } finally {
      await wy.close();
    }
  });

  it('refuses to start on a Redis without persistence, unless told to keep the fast tier in SQL', async () => {
    const forgetful = await startPrivateRedis({ appendOnly: false });
    await expect(startTestWorkyard(scaledEnv(forgetful.url), { modules: [createBlobsModule()] })).rejects.toThrow(/appendonly no/);
    const blobs = createBlobsModule();
    const wy = await startTestWorkyard({ ...scaledEnv(forgetful.url), WORKYARD_BLOBS_FAST_TIER: 'sql' }, { modules: [blobs] });
    try {
      expect(wy.workyard.instanceOf(blobs).service.writeBehind!.tier.name).toBe('sql-postgres');
      expect((await wy.workyard.app.inject({ method: 'PUT', url: '/blobs/scaled/b', payload: 'in postgres first' })).statusCode).toBe(201);
      expect((await wy.workyard.app.inject({ url: '/blobs/scaled/b' })).body).toBe('in postgres first');
    } finally {
      await wy.close();
      await forgetful.stop();
    }
  });
});
