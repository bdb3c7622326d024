// Webhooks end to end on every driver setup: a real receiver on loopback verifies each signature
// with the Standard Webhooks reference check, counts duplicates, and fails on purpose (500s,
// hangs past the timeout, 410) to drive retries, dead deliveries and disabling.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type WebhookReceiver, startWebhookReceiver } from '../../../test/support/webhook-receiver.js';
import { type WebhooksWorkyard, startWebhooksWorkyard } from '../../../test/support/webhooks.js';

const feedback = (i: number) => ({ name: `Person ${i}`, email: `p${i}@example.com`, message: `message ${i}`, rating: 4 });

for (const driver of await driverMatrix()) {
  describe.skipIf(!driver.available)(`webhooks on ${driver.name}`, () => {
    let wy: WebhooksWorkyard;
    let receiver: WebhookReceiver;
    beforeAll(async () => {
      receiver = await startWebhookReceiver();
      wy = await startWebhooksWorkyard(driver);
    });
    afterAll(async () => {
      await wy?.close();
      await receiver?.close();
    });
    // a test that failed midway leaves no endpoint behind to take the next test's events
    afterEach(async () => {
      receiver.answer = () => ({ status: 200 });
      for (const endpoint of (await wy.admin('GET', '/webhooks')).json() as { id: string }[]) await wy.admin('DELETE', `/webhooks/${endpoint.id}`);
    });
    const post = (url: string, body: unknown) => wy.workyard.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    const deliveries = async (id: string) => (await wy.admin('GET', `/webhooks/${id}/deliveries?limit=200`)).json() as any[];

    it('registers, lists, shows and deletes webhooks; admin only; 4xx name the field', async () => {
      const noKey = await wy.workyard.app.inject({ method: 'POST', url: '/webhooks', headers: { 'content-type': 'application/json' }, payload: '{}' });
      expect(noKey.statusCode).toBe(401);
      expect((await wy.admin('POST', '/webhooks', { events: ['feedback.saved'] })).json().error.field).toBe('url');
      expect((await wy.admin('POST', '/webhooks', { url: 'ftp://example.com/', events: ['feedback.saved'] })).json().error).toMatchObject({ code: 'validation_failed', field: 'url' });
      expect((await wy.admin('POST', '/webhooks', { url: 'https://example.com/', events: ['nothing.happened'] })).json().error.field).toMatch(/^events/);
      expect((await wy.admin('POST', '/webhooks', { url: 'https://example.com/', events: ['feedback.saved'], secret: 'whsec_short' })).json().error.field).toBe('secret');

      const created = await wy.admin('POST', '/webhooks', { url: 'https://example.com/hook', events: ['task.failed'] });
      expect(created.statusCode).toBe(201);
      const { id, secret } = created.json();
      // generated in the Standard Webhooks format: whsec_ + base64 of 32 bytes
      expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
      const shown = (await wy.admin('GET', `/webhooks/${id}`)).json();
      expect(shown).toMatchObject({ id, url: 'https://example.com/hook', events: ['task.failed'], enabled: true });
      expect(shown.secret).toBeUndefined();
      expect((await wy.admin('GET', '/webhooks')).json().map((w: any) => w.id)).toContain(id);
      expect((await wy.admin('DELETE', `/webhooks/${id}`)).statusCode).toBe(204);
      expect((await wy.admin('GET', `/webhooks/${id}`)).statusCode).toBe(404);
      expect((await wy.admin('DELETE', `/webhooks/${id}`)).statusCode).toBe(404);
    });

    it('sends feedback.saved once per saved row, sync and queued, every signature valid', async () => {
      const id = await wy.register(receiver.url('/saved'), ['feedback.saved'], receiver.secret);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await post('/feedback/sync', feedback(i))).json().id);
      const tasks: string[] = [];
      for (let i = 20; i < 25; i++) tasks.push((await post('/feedback/async', feedback(i))).json().task_id);
      ids.push(...tasks);
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/saved').length).toBe(25), { timeout: 15_000 });
      expect(new Set(receiver.ofType('feedback.saved', '/saved').map((m) => m.data.id))).toEqual(new Set(ids));
      const queued = receiver.ofType('feedback.saved', '/saved').find((m) => m.data.id === tasks[0])!;
      expect(queued.data).toMatchObject({ name: 'Person 20', via: 'queued' });
      expect(receiver.badSignatures).toEqual([]);
      expect(receiver.duplicates()).toBe(0);
      // the receiver has each message before its attempt is recorded (the answer comes first)
      await vi.waitFor(async () => {
        const list = await deliveries(id);
        expect(list).toHaveLength(25);
        expect(list.every((d) => d.state === 'succeeded' && d.attempts === 1 && d.history[0].status_code === 200 && d.history[0].response === 'answer 200')).toBe(true);
      }, { timeout: 10_000 });
      await wy.admin('DELETE', `/webhooks/${id}`);
    });

    it('sends a ping on POST /webhooks/{id}/test', async () => {
      const id = await wy.register(receiver.url('/ping'), ['blob.stored'], receiver.secret);
      const res = await wy.admin('POST', `/webhooks/${id}/test`);
      expect(res.statusCode).toBe(202);
      await vi.waitFor(() => expect(receiver.messages.get(res.json().event_id)).toMatchObject({ type: 'ping', data: { endpoint_id: id } }), { timeout: 10_000 });
      expect((await wy.admin('POST', '/webhooks/ep_nothing/test')).statusCode).toBe(404);
      await wy.admin('DELETE', `/webhooks/${id}`);
    });

    it('retries 500s and timeouts with the schedule, records each attempt, then succeeds', async () => {
      receiver.answer = (path) => {
        if (path !== '/flaky') return { status: 200 };
        // each id: first a 500, then a hang past the 1 s timeout, then 200
        const tries = (flakyTries.get(path) ?? 0) + 1;
        flakyTries.set(path, tries);
        return tries === 1 ? { status: 500, body: 'x'.repeat(5_000) } : tries === 2 ? { status: 200, delayMs: 3_000 } : { status: 200 };
      };
      const flakyTries = new Map<string, number>();
      const id = await wy.register(receiver.url('/flaky'), ['feedback.saved'], receiver.secret);
      await post('/feedback/sync', feedback(100));
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/flaky')).toHaveLength(1), { timeout: 15_000 });
      // the receiver answered before the attempt was recorded
      await vi.waitFor(async () => expect((await deliveries(id))[0]).toMatchObject({ state: 'succeeded', attempts: 3 }), { timeout: 5_000 });
      const [delivery] = await deliveries(id);
      const [first, second, third] = delivery.history;
      expect(first).toMatchObject({ status_code: 500 });
      expect(first.response).toHaveLength(1024);
      expect(second).toMatchObject({ status_code: null, error: 'no complete answer within 1000 ms' });
      expect(second.duration_ms).toBeGreaterThanOrEqual(900);
      expect(third.status_code).toBe(200);
      // the first retry waits 200 ms ±20 % after the first attempt ended
      expect(second.started_at - (first.started_at + first.duration_ms)).toBeGreaterThanOrEqual(150);
      expect(receiver.duplicates()).toBe(0);
      receiver.answer = () => ({ status: 200 });
      await wy.admin('DELETE', `/webhooks/${id}`);
    });

    it('gives up after the last retry (dead, visible), and sends a dead delivery again on request', async () => {
      let down = true;
      receiver.answer = (path) => (path === '/down' && down ? { status: 503 } : { status: 200 });
      const id = await wy.register(receiver.url('/down'), ['feedback.saved'], receiver.secret);
      await post('/feedback/sync', feedback(200));
      await vi.waitFor(async () => expect((await deliveries(id))[0]).toMatchObject({ state: 'dead', attempts: 3, last_status: 503 }), { timeout: 15_000 });
      expect(receiver.ofType('feedback.saved', '/down')).toHaveLength(0);
      const [dead] = await deliveries(id);
      expect((await wy.admin('GET', `/webhooks/${id}/deliveries?state=dead`)).json().map((d: any) => d.id)).toEqual([dead.id]);
      expect((await wy.admin('GET', `/webhooks/${id}/deliveries?limit=0`)).json().error.field).toBe('limit');
      expect((await wy.admin('POST', `/webhooks/${id}/deliveries/dlv_none/retry`)).statusCode).toBe(404);

      down = false;
      expect((await wy.admin('POST', `/webhooks/${id}/deliveries/${dead.id}/retry`)).statusCode).toBe(202);
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/down')).toHaveLength(1), { timeout: 10_000 });
      await vi.waitFor(async () => expect((await deliveries(id))[0]).toMatchObject({ state: 'succeeded', attempts: 4 }), { timeout: 5_000 });
      expect(receiver.messages.get(dead.event_id)?.times).toBe(1);
      await wy.admin('DELETE', `/webhooks/${id}`);
    });

    it('disables an endpoint that answers 410 Gone, and sends it nothing more', async () => {
      receiver.answer = (path) => (path === '/gone' ? { status: 410 } : { status: 200 });
      const gone = await wy.register(receiver.url('/gone'), ['feedback.saved'], receiver.secret);
      const alive = await wy.register(receiver.url('/alive'), ['feedback.saved'], receiver.secret);
      await post('/feedback/sync', feedback(300));
      await vi.waitFor(async () => expect((await wy.admin('GET', `/webhooks/${gone}`)).json()).toMatchObject({ enabled: false, disabled_reason: 'the endpoint answered 410 Gone' }), { timeout: 10_000 });
      expect((await deliveries(gone))[0]).toMatchObject({ state: 'dead', attempts: 1, last_status: 410 });
      const before = receiver.requests;
      await post('/feedback/sync', feedback(301));
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/alive')).toHaveLength(2), { timeout: 10_000 });
      expect(await deliveries(gone)).toHaveLength(1);
      expect(receiver.requests - before).toBe(1);
      expect((await wy.admin('POST', `/webhooks/${gone}/test`)).statusCode).toBe(409);
      expect((await wy.admin('POST', `/webhooks/${gone}/deliveries/${(await deliveries(gone))[0].id}/retry`)).statusCode).toBe(409);
      receiver.answer = () => ({ status: 200 });
      await wy.admin('DELETE', `/webhooks/${gone}`);
      await wy.admin('DELETE', `/webhooks/${alive}`);
    });

    it('one endpoint that hangs does not delay another', async () => {
      receiver.answer = (path) => (path === '/stuck' ? { status: 200, delayMs: 5_000 } : { status: 200 });
      const stuck = await wy.register(receiver.url('/stuck'), ['feedback.saved'], receiver.secret);
      const quick = await wy.register(receiver.url('/quick'), ['feedback.saved'], receiver.secret);
      const started = Date.now();
      for (let i = 0; i < 40; i++) await post('/feedback/sync', feedback(400 + i));
      // the stuck endpoint's 40 deliveries each hold a slot for the 1 s timeout, 32 at a time at most (of 128)
      await vi.waitFor(() => expect(receiver.ofType('feedback.saved', '/quick')).toHaveLength(40), { timeout: 10_000 });
      expect(Date.now() - started).toBeLessThan(4_000);
      receiver.answer = () => ({ status: 200 });
      await wy.admin('DELETE', `/webhooks/${stuck}`);
      await wy.admin('DELETE', `/webhooks/${quick}`);
      expect(receiver.badSignatures).toEqual([]);
    });
  });
}

describe('webhooks: the SSRF guard', () => {
  let wy: WebhooksWorkyard;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    const [sqlite] = await driverMatrix();
    wy = await startWebhooksWorkyard(sqlite, { env: { WORKYARD_WEBHOOKS_ALLOW_PRIVATE: 'false' } });
  });
  afterAll(async () => {
    await wy?.close();
    await receiver?.close();
  });

  it('refuses a private address literal when registering, and a name resolving to one at connect time', async () => {
    const literal = await wy.admin('POST', '/webhooks', { url: receiver.url('/x'), events: ['feedback.saved'] });
    expect(literal.statusCode).toBe(400);
    expect(literal.json().error).toMatchObject({ field: 'url', message: expect.stringContaining('WORKYARD_WEBHOOKS_ALLOW_PRIVATE') });

    const byName = receiver.url('/x').replace('127.0.0.1', 'localhost');
    const id = await wy.register(byName, ['feedback.saved'], receiver.secret);
    const ping = (await wy.admin('POST', `/webhooks/${id}/test`)).json();
    await vi.waitFor(async () => expect((await wy.admin('GET', `/webhooks/${id}/deliveries`)).json()[0]).toMatchObject({ id: ping.delivery_id, state: 'dead' }), { timeout: 10_000 });
    const [delivery] = (await wy.admin('GET', `/webhooks/${id}/deliveries`)).json();
    expect(delivery.history[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/refused to connect to localhost: .* loopback address .*WORKYARD_WEBHOOKS_ALLOW_PRIVATE/) });
    expect(receiver.requests).toBe(0);
  });
});

describe('webhooks: redirects', () => {
  it('does not follow a redirect: a 3xx is a failed attempt', async () => {
    const receiver = await startWebhookReceiver();
    const [sqlite] = await driverMatrix();
    const wy = await startWebhooksWorkyard(sqlite, { webhooks: { retryDelaysMs: [] } });
    try {
      receiver.answer = (path) => (path === '/moved' ? { status: 307 } : { status: 200 });
      const id = await wy.register(receiver.url('/moved'), ['feedback.saved'], receiver.secret);
      const ping = (await wy.admin('POST', `/webhooks/${id}/test`)).json();
      await vi.waitFor(async () => expect((await wy.admin('GET', `/webhooks/${id}/deliveries`)).json()[0]).toMatchObject({ id: ping.delivery_id, state: 'dead', last_status: 307 }), { timeout: 10_000 });
      expect(receiver.requests).toBe(1);
    } finally {
      await wy.close();
      await receiver.close();
    }
  });
});

describe('webhooks: deliveries waiting when their endpoint is disabled', () => {
  it('are listed dead, not pending forever', async () => {
    const receiver = await startWebhookReceiver();
    const [sqlite] = await driverMatrix();
    const wy = await startWebhooksWorkyard(sqlite, { webhooks: { retryDelaysMs: [1_500] } });
    try {
      receiver.answer = (_path, _times, type) => (type === 'ping' ? { status: 410 } : { status: 500 });
      const id = await wy.register(receiver.url('/h'), ['feedback.saved'], receiver.secret);
      await wy.workyard.app.inject({ method: 'POST', url: '/feedback/sync', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(feedback(1)) });
      const list = async () => (await wy.admin('GET', `/webhooks/${id}/deliveries`)).json() as any[];
      // the save's delivery failed once and waits 1.5 s for its retry; meanwhile a ping meets 410
      await vi.waitFor(async () => expect((await list())[0]).toMatchObject({ event_type: 'feedback.saved', state: 'pending', attempts: 1 }), { timeout: 10_000 });
      await wy.admin('POST', `/webhooks/${id}/test`);
      await vi.waitFor(async () => expect((await wy.admin('GET', `/webhooks/${id}`)).json().enabled).toBe(false), { timeout: 10_000 });
      await vi.waitFor(async () => expect((await list()).find((d) => d.event_type === 'feedback.saved')).toMatchObject({ state: 'dead', attempts: 1, next_attempt_at: null }), { timeout: 10_000 });
    } finally {
      await wy.close();
      await receiver.close();
    }
  });
});
