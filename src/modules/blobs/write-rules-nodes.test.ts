// Conditional writes across API nodes, as the scaled shape runs them: two Workyards on one
// PostgreSQL (where the key locks are) and one S3, requests alternating between them over real HTTP.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobPath, rawRequest } from '../../../test/support/blobs.js';
import { type MotoHandle, startMoto } from '../../../test/support/moto.js';
import { startPrivateRedis } from '../../../test/support/redis-server.js';
import { createTestDatabase, needService, uniqueRedisPrefix } from '../../../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';

const ready = (await needService('postgres')) && (await needService('redis'));

describe.skipIf(!ready)('conditional blob writes on two API nodes', () => {
  let moto: MotoHandle;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  beforeAll(async () => {
    [moto, database, redis] = await Promise.all([startMoto(), createTestDatabase(), startPrivateRedis({ appendFsync: 'always' })]);
  });
  afterAll(async () => {
    await moto?.stop();
    await database?.drop();
    await redis?.stop();
  });

  const variants = [
    { name: 'write-through to S3', env: () => ({ ...moto.env('two-nodes-through') }) },
    {
      name: 'write-behind (Redis fast tier, BullMQ)',
      env: () => ({ ...moto.env('two-nodes-behind'), WORKYARD_REDIS_URL: redis.url, WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('cond'), WORKYARD_BLOBS_WRITE_BEHIND: 'true' }),
    },
  ];

  describe.each(variants)('$name', (variant) => {
    let nodes: TestWorkyard[] = [];
    beforeAll(async () => {
      const env = { ...variant.env(), WORKYARD_DATABASE_URL: database.url, WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' };
      nodes = await Promise.all([startTestWorkyard(env), startTestWorkyard(env)]);
    });
    afterAll(() => Promise.all(nodes.map((node) => node.close())));

    it('of 50 concurrent If-None-Match: * puts of one key spread over both nodes, exactly one gets 201', async () => {
      const key = `race/${randomBytes(4).toString('hex')}`;
      const bodies = Array.from({ length: 50 }, () => randomBytes(2048));
      const answers = await Promise.all(
        bodies.map((body, i) => rawRequest(nodes[i % 2].baseUrl, { method: 'PUT', path: blobPath(key), headers: { 'if-none-match': '*', 'content-length': body.length }, body })),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 201)).toHaveLength(1);
      expect(statuses.filter((status) => status === 412)).toHaveLength(49);
      const winner = bodies[statuses.indexOf(201)];
      for (const node of nodes) expect((await rawRequest(node.baseUrl, { method: 'GET', path: blobPath(key) })).body.equals(winner)).toBe(true);
    });

    it('of 20 read-modify-write cycles with If-Match on both nodes, none is lost', async () => {
      // Each writer appends one line to a shared log, retrying on 412 with the version it reads:
      // without atomic conditions two of them would both replace the same version and a line would vanish.
      const key = `log/${randomBytes(4).toString('hex')}`;
      await rawRequest(nodes[0].baseUrl, { method: 'PUT', path: blobPath(key), headers: { 'content-length': 0 }, body: Buffer.alloc(0) });
      const append = async (line: string, node: TestWorkyard) => {
        for (;;) {
          const current = await rawRequest(node.baseUrl, { method: 'GET', path: blobPath(key) });
          const next = Buffer.concat([current.body, Buffer.from(line + '\n')]);
          const put = await rawRequest(node.baseUrl, { method: 'PUT', path: blobPath(key), headers: { 'if-match': String(current.headers.etag), 'content-length': next.length }, body: next });
          if (put.status === 201) return;
          expect(put.status).toBe(412);
        }
      };
      await Promise.all(Array.from({ length: 20 }, (_, i) => append(`line ${i}`, nodes[i % 2])));
      const lines = (await rawRequest(nodes[1].baseUrl, { method: 'GET', path: blobPath(key) })).body.toString().trim().split('\n');
      expect(lines.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i}`).sort());
    });
  });
});
