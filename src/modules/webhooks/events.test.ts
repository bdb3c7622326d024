// Every event type reaches a registered webhook, on every driver setup: task.completed and
// task.failed (once per job that ended for good: not for a run that is retried, not for
// deliveries), harvest.done and blob.stored.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { WorkyardModule } from '../../app-context.js';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { type WebhookReceiver, startWebhookReceiver } from '../../../test/support/webhook-receiver.js';
import { type WebhooksWorkyard, startWebhooksWorkyard } from '../../../test/support/webhooks.js';
import { blobsModule } from '../blobs/index.js';
import { feedbackModule } from '../feedback/index.js';
import { harvestModule } from '../harvest/index.js';
import { tasksModule } from '../tasks/index.js';

const failingJobModule: WorkyardModule = {
  name: 'failing-job',
  create: () => ({
    jobs: (queue) =>
      queue.process('test.fails', async () => {
        throw new Error('fails on purpose');
      }),
  }),
};

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`webhook events on ${driver.name}`, () => {
    let wy: WebhooksWorkyard;
    let receiver: WebhookReceiver;
    let site: FixtureSite;
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
      site = await startFixtureSite({ '/page.html': html('<p>Hello from the fixture</p>') });
      wy = await startWebhooksWorkyard(driver, {
        env: { WORKYARD_HARVEST_ALLOW_PRIVATE: 'true', WORKYARD_HARVEST_RESPECT_ROBOTS: 'false' },
        modules: [tasksModule, feedbackModule, harvestModule, blobsModule, failingJobModule],
      });
      await wy.register(receiver.url('/all'), ['task.completed', 'task.failed', 'harvest.done', 'blob.stored'], receiver.secret);
    });
    afterAll(async () => {
      await wy?.close();
      await site?.close();
      await receiver?.close();
    });

    it('task.completed for a finished task, task.failed once for a job that failed every attempt', async () => {
      const taskId = (await wy.workyard.app.inject({ method: 'POST', url: '/feedback/async', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'A', email: 'a@example.com', message: 'm' }) })).json().task_id;
      const failing = await wy.workyard.ctx.queue.enqueue('test.fails', {}, { attempts: 2, backoffMs: 10 });
      await vi.waitFor(() => expect(receiver.ofType('task.failed').map((m) => m.data.id)).toContain(failing.id), { timeout: 15_000 });
      await vi.waitFor(() => expect(receiver.ofType('task.completed').map((m) => m.data.id)).toContain(taskId), { timeout: 15_000 });
      expect(receiver.ofType('task.completed').find((m) => m.data.id === taskId)?.data).toMatchObject({ name: 'feedback.save', status: 'completed', result: { id: taskId, stored: true } });
      expect(receiver.ofType('task.failed').filter((m) => m.data.id === failing.id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ name: 'test.fails', error: 'fails on purpose' }) })]);
      // the deliveries themselves (webhooks.deliver jobs) are never reported
      expect([...receiver.messages.values()].some((m) => String(m.data.name).startsWith('webhooks.'))).toBe(false);
      const failedEvents = await wy.workyard.ctx.events.list({ type: 'task.failed' });
      expect(failedEvents.filter((e) => e.data.id === failing.id)).toHaveLength(1);
    });

    it('harvest.done when a harvest task is done, blob.stored when a blob is put', async () => {
      const created = await wy.workyard.app.inject({ method: 'POST', url: '/text_tasks', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ url: `${site.url}/page.html` }) });
      expect(created.statusCode).toBe(202);
      const put = await wy.workyard.app.inject({ method: 'PUT', url: '/blobs/webhooks/one.txt', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
      expect(put.statusCode).toBe(201);
      await vi.waitFor(() => expect(receiver.ofType('blob.stored').map((m) => m.data)).toEqual([expect.objectContaining({ key: 'webhooks/one.txt', size: 5 })]), { timeout: 10_000 });
      await vi.waitFor(() => expect(receiver.ofType('harvest.done')).toHaveLength(1), { timeout: 15_000 });
      expect(receiver.ofType('harvest.done')[0].data).toMatchObject({ kind: 'text', url: `${site.url}/page.html` });
      expect(receiver.badSignatures).toEqual([]);
      expect(receiver.duplicates()).toBe(0);
    });
  });
}

describe('task events only while a webhook takes them', () => {
  it('records no task event with no taker, and records them once one is registered', async () => {
    const [sqlite] = await driverMatrix();
    const receiver = await startWebhookReceiver();
    const wy = await startWebhooksWorkyard(sqlite, { modules: [tasksModule, feedbackModule] });
    try {
      await wy.register(receiver.url('/saved'), ['feedback.saved'], receiver.secret);
      const post = () => wy.workyard.app.inject({ method: 'POST', url: '/feedback/async', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'A', email: 'a@example.com', message: 'm' }) });
      const before = (await post()).json().task_id;
      await wy.workyard.ctx.queue.waitForFinish(before, 10_000);
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved').map((m) => m.data.id)).toContain(before), { timeout: 10_000 });
      expect(await wy.workyard.ctx.events.list({ type: 'task.completed' })).toEqual([]);

      await wy.register(receiver.url('/tasks'), ['task.completed'], receiver.secret);
      const after = (await post()).json().task_id;
      await vi.waitFor(() => expect(receiver.ofType('task.completed').map((m) => m.data.id)).toEqual([after]), { timeout: 10_000 });
    } finally {
      await wy.close();
      await receiver.close();
    }
  });
});
