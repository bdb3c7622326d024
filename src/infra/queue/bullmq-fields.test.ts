// What the BullMQ driver keeps per job in Redis beyond BullMQ's own fields, read back by another
// process from the job alone (Job.fromId), as the group limits and timeouts need.
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix } from '../../../test/support/redis-keys.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { BullmqJobQueue } from './bullmq-queue.js';
import { toBullId } from './bullmq-keys.js';
import { workyardOptionsOf } from './bullmq-records.js';

const ok = await needService('redis');

describe.skipIf(!ok)('BullMQ driver: per-job fields kept in Redis', () => {
  const prefix = uniqueRedisPrefix('bull-fields');
  let queue: BullmqJobQueue;
  let reader: Redis;

  beforeAll(() => {
    queue = new BullmqJobQueue({ redisUrl, prefix, timeoutMs: 2_000 });
    reader = new Redis(redisUrl);
  });
  afterAll(async () => {
    await queue.close(500);
    reader.disconnect();
    await deleteRedisPrefix(redisUrl, prefix);
  });

  /** The job as another process sees it: a fresh BullMQ Queue on its own connection. */
  async function readElsewhere(name: string, id: string): Promise<Job> {
    const other = new Queue(name, { connection: reader, prefix });
    try {
      const job = await Job.fromId(other, toBullId(id));
      if (!job) throw new Error(`no job ${id}`);
      return job;
    } finally {
      await other.close();
    }
  }

  it('a job with a group reads back its group through Job.fromId; a job without one reads nulls', async () => {
    const grouped = await queue.enqueue('fields-group', { n: 1 }, { group: 'example.org' });
    const plain = await queue.enqueue('fields-group', { n: 2 });
    expect(workyardOptionsOf(await readElsewhere('fields-group', grouped.id))).toMatchObject({ group: 'example.org' });
    expect(workyardOptionsOf(await readElsewhere('fields-group', plain.id))).toEqual({ group: null, key: null, timeoutMs: null });
    expect(grouped.group).toBe('example.org');
    expect((await queue.getJob(grouped.id))!.group).toBe('example.org');
  });
});
