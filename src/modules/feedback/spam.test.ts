// The forms' spam rules and per-address limit, on SQLite and PostgreSQL: a suspect post is answered
// like any other, stored marked, left off the page and out of feedback.saved, and shown to the
// admin; an honest one (token old enough, honeypot empty) is listed. The rules themselves below.
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type FeedbackWorkyard, openFormSession, startFeedbackWorkyard } from '../../../test/support/feedback.js';
import { FILL_TOKEN_FIELD, HONEYPOT_FIELD, fillToken, spamReason } from './spam-rules.js';

const KEY = 'spam-test-key';
const MIN_FILL_MS = 400;
const admin = { authorization: `Bearer ${KEY}` };

describe('the spam rules', () => {
  const rules = { secret: 'a-secret-of-some-length', minFillMs: 2_000, maxAgeMs: 86_400_000 };
  const now = Date.UTC(2026, 11, 5, 12);
  const fields = (extra: Record<string, unknown>) => ({ name: 'Ada', message: 'Hi', _csrf: 'x', ...extra });

  it('passes a form posted between 2 s and a day after its page, with the honeypot empty', () => {
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: fillToken(rules.secret, now - 2_000), [HONEYPOT_FIELD]: '' }), rules, now)).toBeNull();
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: fillToken(rules.secret, now - 86_000_000) }), rules, now)).toBeNull();
  });

  it('names each sign of a bot', () => {
    const good = fillToken(rules.secret, now - 10_000);
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: good, [HONEYPOT_FIELD]: 'http://spam.example' }), rules, now)).toBe('honeypot');
    expect(spamReason(fields({}), rules, now)).toBe('no-fill-token');
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: fillToken(rules.secret, now - 1_999) }), rules, now)).toBe('too-fast');
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: fillToken(rules.secret, now - 86_400_001) }), rules, now)).toBe('too-old');
    // another deployment's token, a token whose time was moved back to look old enough, garbage
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: fillToken('another-secret-entirely', now - 10_000) }), rules, now)).toBe('bad-fill-token');
    const [, signature] = fillToken(rules.secret, now).split('.');
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: `${now - 10_000}.${signature}` }), rules, now)).toBe('bad-fill-token');
    expect(spamReason(fields({ [FILL_TOKEN_FIELD]: 'x'.repeat(60) }), rules, now)).toBe('bad-fill-token');
  });
});

for (const driver of (await driverMatrix()).filter((d) => d.queue === 'sql')) {
  describe.skipIf(!driver.available)(`feedback spam rules and limit on ${driver.dialect}`, () => {
    let wy: FeedbackWorkyard;
    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver, { env: { WORKYARD_API_KEY: KEY, WORKYARD_FORM_MIN_FILL_MS: String(MIN_FILL_MS), WORKYARD_FORM_RATE_LIMIT: '0' } });
    });
    afterAll(() => wy?.close());

    const listed = async (spam: boolean) =>
      ((await wy.app.inject({ url: `/feedback.json${spam ? '?spam=true' : ''}`, headers: spam ? admin : {} })).json().items as { message: string }[]).map((item) => item.message);
    const events = async () =>
      (await sql<{ data: string }>`select data from events_outbox where type = 'feedback.saved'`.execute(wy.workyard.ctx.database.db)).rows.map((row) => (typeof row.data === 'string' ? JSON.parse(row.data) : row.data).message as string);

    it('answers a bot exactly like a person, and keeps the bot\'s post off the page and out of feedback.saved', async () => {
      const bot = await openFormSession(wy.app);
      const tooFast = await bot.post('/feedback/sync', { name: 'Bot', message: 'fast sync spam' });
      const honeypot = await bot.post('/feedback/sync', { name: 'Bot', message: 'honeypot spam', [HONEYPOT_FIELD]: 'http://spam.example' });
      const noToken = await bot.post('/feedback/sync', { name: 'Bot', message: 'tokenless spam', [FILL_TOKEN_FIELD]: '' });
      const queued = await bot.post('/feedback/async', { name: 'Bot', message: 'fast async spam' });

      const person = await openFormSession(wy.app);
      await sleep(MIN_FILL_MS + 100);
      const honest = await person.post('/feedback/sync', { name: 'Ada', message: 'a person wrote this' });
      const honestQueued = await person.post('/feedback/async', { name: 'Ada', message: 'a person queued this' });

      for (const res of [tooFast, honeypot, noToken, honest]) {
        expect(res.statusCode).toBe(303);
        expect(res.headers.location).toMatch(/^\/feedback\?saved=[0-9a-f-]{36}$/);
      }
      for (const res of [queued, honestQueued]) expect(res.headers.location).toMatch(/^\/feedback\?queued=[0-9a-f-]{36}$/);
      await vi.waitUntil(async () => (await wy.countRows()) === 6, { timeout: 10_000 });

      expect((await listed(false)).sort()).toEqual(['a person queued this', 'a person wrote this']);
      expect((await listed(true)).sort()).toEqual(['fast async spam', 'fast sync spam', 'honeypot spam', 'tokenless spam']);
      const page = await wy.app.inject({ url: '/feedback' });
      expect(page.body).toContain('a person wrote this');
      expect(page.body).not.toContain('spam</p>');
      await vi.waitUntil(async () => (await events()).length === 2, { timeout: 10_000 });
      expect((await events()).sort()).toEqual(['a person queued this', 'a person wrote this']);
    });

    it('shows the spam view to the admin only, and the JSON API is not judged by the form rules', async () => {
      expect((await wy.app.inject({ url: '/feedback.json?spam=true' })).statusCode).toBe(401);
      expect((await wy.app.inject({ url: '/feedback.json?spam=maybe', headers: admin })).json().error.field).toBe('spam');
      const api = await wy.app.inject({ method: 'POST', url: '/feedback/sync', payload: { name: 'Client', message: 'from the API' } });
      expect(api.statusCode).toBe(201);
      expect(await listed(false)).toContain('from the API');
    });

    it('hides the honeypot from people: off-screen, out of the tab order, hidden from screen readers', async () => {
      const page = (await wy.app.inject({ url: '/feedback' })).body;
      expect(page).toMatch(new RegExp(`<div class="hp" aria-hidden="true"><label for="sync-${HONEYPOT_FIELD}">[^<]+</label><input id="sync-${HONEYPOT_FIELD}" name="${HONEYPOT_FIELD}" type="text" tabindex="-1" autocomplete="off" value=""></div>`));
      expect(page).toMatch(/\.hp\{position:absolute;left:-10000px/);
      expect(page).toMatch(new RegExp(`name="${FILL_TOKEN_FIELD}" value="\\d+\\.[A-Za-z0-9_-]{43}"`));
    });
  });

  describe.skipIf(!driver.available)(`feedback form posts per address on ${driver.dialect}`, () => {
    let wy: FeedbackWorkyard;
    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver, { env: { WORKYARD_API_KEY: KEY, WORKYARD_FORM_RATE_LIMIT: '3' } });
    });
    afterAll(() => wy?.close());

    it('takes 3 form posts a minute from one address, then shows the form again with 429 and Retry-After', async () => {
      const form = await openFormSession(wy.app);
      for (let i = 0; i < 3; i++) expect((await form.post('/feedback/sync', { message: `post ${i}` })).statusCode).toBe(303);
      const refused = await form.post('/feedback/async', { message: 'one too many' });
      expect(refused.statusCode).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.body).toContain('more than 3 posts in a minute');
      expect(refused.body).toContain('one too many');
      expect(await wy.countRows()).toBe(3);
    });

    it('counts each address apart, and never a caller with the API key nor a JSON client', async () => {
      const form = await openFormSession(wy.app);
      const fromElsewhere = await wy.app.inject({
        method: 'POST',
        url: '/feedback/sync',
        remoteAddress: '10.9.8.7',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie },
        payload: new URLSearchParams({ message: 'another address', _csrf: form.token }).toString(),
      });
      expect(fromElsewhere.statusCode).toBe(303);
      const withKey = await wy.app.inject({
        method: 'POST',
        url: '/feedback/sync',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, ...admin },
        payload: new URLSearchParams({ message: 'the admin', _csrf: form.token }).toString(),
      });
      expect(withKey.statusCode).toBe(303);
      for (let i = 0; i < 5; i++) expect((await wy.app.inject({ method: 'POST', url: '/feedback/sync', payload: { message: `json ${i}` } })).statusCode).toBe(201);
    });
  });
}
