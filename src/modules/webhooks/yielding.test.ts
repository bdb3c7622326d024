// Deliveries yield to requests: while requests fill the event loop (driven here: the loop reads as
// full and requests keep coming), deliveries are made and sent a few at a time, yet every event
// still reaches the receiver, once; when the requests stop, the rest go at once. On every driver
// setup: the waiting happens in the job handler and the outbox consumer, whatever the queue.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RequestPressure } from '../../infra/request-pressure.js';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type WebhookReceiver, startWebhookReceiver } from '../../../test/support/webhook-receiver.js';
import { type WebhooksWorkyard, startWebhooksWorkyard } from '../../../test/support/webhooks.js';

const EVENTS = 60;

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`webhook deliveries yielding to requests on ${driver.name}`, () => {
    let wy: WebhooksWorkyard;
    let receiver: WebhookReceiver;
    let requestsComing = true;
    const pressure = new RequestPressure({ sampleMs: 10, turnsPerSample: 1, utilisation: () => (requestsComing ? 1 : 0.2) });
    const requests = setInterval(() => requestsComing && pressure.requestBegun(), 2);
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
      wy = await startWebhooksWorkyard(driver, { requestPressure: pressure });
    });
    afterAll(async () => {
      clearInterval(requests);
      await wy?.close();
      await receiver?.close();
    });

    it('delivers a few at a time while requests fill the loop, and every event once', async () => {
      await vi.waitFor(() => expect(pressure.yielding).toBe(true), { timeout: 5_000 });
      await wy.register(receiver.url('/busy'), ['feedback.saved'], receiver.secret);
      const ids = Array.from({ length: EVENTS }, (_, i) => `busy-${i}`);
      await wy.workyard.ctx.events.record(ids.map((id) => ({ type: 'feedback.saved', data: { id } })));
      // they go on arriving while it yields (it never stops them), each attempt after a turn it
      // waited for: there were at least as many waits as arrivals (the deliveries' rows took a few more)
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/busy').length).toBeGreaterThanOrEqual(10), { timeout: 10_000 });
      const arrived = receiver.ofType('feedback.saved', '/busy').length;
      expect(pressure.yielding).toBe(true);
      expect(pressure.waits).toBeGreaterThanOrEqual(arrived);
      expect(arrived).toBeLessThan(EVENTS);
      requestsComing = false;
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/busy')).toHaveLength(EVENTS), { timeout: 15_000 });
      expect(new Set(receiver.ofType('feedback.saved', '/busy').map((m) => m.data.id))).toEqual(new Set(ids));
      expect(receiver.duplicates()).toBe(0);
      expect(receiver.badSignatures).toEqual([]);
      expect(pressure.yielding).toBe(false);
      const metrics = (await wy.workyard.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^workyard_yielding_to_requests\{[^}]*\} 0$/m);
      expect(metrics).toMatch(new RegExp(`^workyard_yielding_waits\\{[^}]*\\} ${pressure.waits}$`, 'm'));
    });
  });
}
