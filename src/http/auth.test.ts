import { beforeAll, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';
import { tasksModule } from '../modules/tasks/index.js';
import { suiteWorkyard } from '../../test/support/suite-workyard.js';

const KEY = 's3cret-Ключ-🔑';
const unauthorized = { error: { code: 'unauthorized', message: expect.stringContaining('Authorization: Bearer'), field: 'authorization' } };

describe('the API key guard (DELETE /tasks/:id)', () => {
  const wy = suiteWorkyard(() => startTestWorkyard({ WORKYARD_API_KEY: KEY }, { modules: [tasksModule] }));
  const open = suiteWorkyard(() => startTestWorkyard({}, { modules: [tasksModule] }));
  let jobId: string;
  beforeAll(async () => {
    // Nobody processes this job name, so the job stays queued and cancellable.
    jobId = (await wy.workyard.ctx.queue.enqueue('security-test-idle', {})).id;
  });

  const del = (app: TestWorkyard, authorization?: string) =>
    app.workyard.app.inject({ method: 'DELETE', url: `/tasks/${jobId}`, headers: authorization === undefined ? {} : { authorization } });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['the key without the Bearer scheme', KEY],
    ['Basic instead of Bearer', `Basic ${Buffer.from(`admin:${KEY}`).toString('base64')}`],
    ['a wrong key of the same length', `Bearer ${KEY.slice(0, -2)}xx`],
    ['a prefix of the key', `Bearer ${KEY.slice(0, 3)}`],
    ['the key with a suffix', `Bearer ${KEY}x`],
    ['a huge key', `Bearer ${'k'.repeat(8000)}`],
    ['Bearer and nothing', 'Bearer '],
  ])('answers 401 with %s, and cancels nothing', async (_label, authorization) => {
    const res = await del(wy, authorization);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(unauthorized);
    expect((await wy.workyard.ctx.queue.getJob(jobId))?.state).toBe('queued');
  });

  it('lets the right key through (scheme case-insensitive, surrounding spaces ignored)', async () => {
    const res = await del(wy, `bearer   ${KEY} `);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: jobId, status: 'cancelled' });
  });

  it('leaves reading routes public while the key is set', async () => {
    const res = await wy.workyard.app.inject({ url: `/tasks/${jobId}` });
    expect(res.statusCode).toBe(200);
  });

  it('leaves admin routes open when no key is configured', async () => {
    const id = (await open.workyard.ctx.queue.enqueue('security-test-idle', {})).id;
    const res = await open.workyard.app.inject({ method: 'DELETE', url: `/tasks/${id}` });
    expect(res.statusCode).toBe(200);
  });
});
