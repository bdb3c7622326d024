// The two post routes over HTTP, on SQLite and on PostgreSQL: JSON and form variants, every
// validation rule, CSRF refusal, body limits.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type FeedbackWorkyard, type FormSession, openFormSession, startFeedbackWorkyard, validFeedback } from '../../../test/support/feedback.js';
import { tablesOf } from '../../../test/support/tables.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const driver of (await driverMatrix()).filter((d) => d.queue === 'sql')) {
  const { dialect, available } = driver;
  describe.skipIf(!available)(`feedback posts on ${dialect}`, () => {
    let wy: FeedbackWorkyard;
    let form: FormSession;
    beforeAll(async () => {
      wy = await startFeedbackWorkyard(driver);
      form = await openFormSession(wy.app);
    });
    afterAll(() => wy?.close());

    const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      wy.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });
    const list = async () => (await wy.app.inject({ url: '/feedback.json' })).json().items as any[];

    describe('JSON clients', () => {
      it('sync: saves in the request and answers 201 with the id of the committed row', async () => {
        const res = await postJson('/feedback/sync', validFeedback);
        expect(res.statusCode).toBe(201);
        const { id } = res.json();
        expect(id).toMatch(UUID);
        const row = await tablesOf(wy.workyard.ctx.database).selectFrom('feedback_entries').selectAll().where('id', '=', id).executeTakeFirst();
        expect(row).toMatchObject({ name: 'Ada Lovelace', email: 'ada@example.com', message: 'The engine works.', via: 'sync' });
        expect(Number(row!.rating)).toBe(5);
        expect((await list()).find((e) => e.id === id)).toMatchObject({ name: 'Ada Lovelace', rating: 5, message: 'The engine works.', via: 'sync' });
      });

      it('async: answers 202 with a task id, the task completes and the row has the task id as its id', async () => {
        const before = Date.now();
        const res = await postJson('/feedback/async', { ...validFeedback, name: 'Queued Ada', rating: null });
        expect(res.statusCode).toBe(202);
        const taskId = res.json().task_id;
        expect(taskId).toMatch(UUID);
        expect(res.headers.location).toBe(`/tasks/${taskId}`);
        const task = await vi.waitUntil(async () => { const t = (await wy.app.inject({ url: `/tasks/${taskId}` })).json(); return t.status === 'completed' && t; }, { timeout: 10_000 });
        expect(task).toMatchObject({ name: 'feedback.save', result: { id: taskId, stored: true } });
        const entry = (await list()).find((e) => e.id === taskId);
        expect(entry).toMatchObject({ name: 'Queued Ada', rating: null, via: 'queued' });
        // the time shown is when it was submitted, not when the worker saved it
        expect(Date.parse(entry.created_at)).toBeGreaterThanOrEqual(before);
        expect(Date.parse(entry.created_at)).toBeLessThanOrEqual(Date.parse(task.started_at));
      });

      it('accepts a charset parameter, a null rating and no rating', async () => {
        expect((await postJson('/feedback/sync', validFeedback, { 'content-type': 'application/json; charset=utf-8' })).statusCode).toBe(201);
        expect((await postJson('/feedback/sync', { ...validFeedback, rating: null })).statusCode).toBe(201);
        const { rating: _rating, ...noRating } = validFeedback;
        const queued = await postJson('/feedback/async', noRating);
        expect(queued.statusCode).toBe(202);
        // saved before the next tests count rows
        expect((await wy.workyard.ctx.queue.waitForFinish(queued.json().task_id, 10_000)).result).toMatchObject({ stored: true });
      });

      it('accepts the largest valid submission: 100- and 5,000-character texts of four-byte characters', async () => {
        const body = { name: '😀'.repeat(100), email: `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`, message: '😀'.repeat(5000), rating: 3 };
        const res = await postJson('/feedback/sync', body);
        expect(res.statusCode).toBe(201);
        const row = await tablesOf(wy.workyard.ctx.database).selectFrom('feedback_entries').select(['name', 'message']).where('id', '=', res.json().id).executeTakeFirstOrThrow();
        expect(row.message).toBe(body.message);
        expect(row.name).toBe(body.name);
      });

      const refused: [string, unknown, string][] = [
        ['name of 101 characters', { ...validFeedback, name: 'x'.repeat(101) }, 'name'],
        ['name only spaces', { ...validFeedback, name: '   ' }, 'name'],
        ['name with NUL (PostgreSQL cannot store it)', { ...validFeedback, name: 'a\u0000b' }, 'name'],
        ['name a number (no coercion)', { ...validFeedback, name: 42 }, 'name'],
        ['email only a space', { ...validFeedback, email: ' ' }, 'email'],
        ['email not an address', { ...validFeedback, email: 'ada.example.com' }, 'email'],
        ['email without a dotted domain', { ...validFeedback, email: 'ada@localhost' }, 'email'],
        ['email of 255 characters', { ...validFeedback, email: `${'a'.repeat(245)}@exam.ple.com` }, 'email'],
        ['email an array', { ...validFeedback, email: ['ada@example.com'] }, 'email'],
        ['message missing (and no opinion)', { name: 'n', email: 'a@b.co' }, 'message'],
        ['message and opinion that differ', { ...validFeedback, opinion: 'something else' }, 'opinion'],
        ['opinion empty', { name: 'n', opinion: '' }, 'opinion'],
        ['opinion a number', { name: 'n', opinion: 5 }, 'opinion'],
        ['message empty', { ...validFeedback, message: '' }, 'message'],
        ['message of 5,001 characters', { ...validFeedback, message: 'x'.repeat(5001) }, 'message'],
        ['message only line breaks', { ...validFeedback, message: '\n\n' }, 'message'],
        ['rating 0', { ...validFeedback, rating: 0 }, 'rating'],
        ['rating 6', { ...validFeedback, rating: 6 }, 'rating'],
        ['rating 2.5', { ...validFeedback, rating: 2.5 }, 'rating'],
        ['rating as a string (no coercion)', { ...validFeedback, rating: '3' }, 'rating'],
        ['rating true', { ...validFeedback, rating: true }, 'rating'],
        ['an unknown field', { ...validFeedback, admin: true }, 'admin'],
        ['an array body', [validFeedback], 'body'],
        ['a string body', 'just text', 'body'],
        ['null body', null, 'body'],
      ];
      for (const path of ['/feedback/sync', '/feedback/async']) {
        it.each(refused)(`${path} refuses %s with 400 naming the field, storing nothing`, async (_case, body, field) => {
          const before = await wy.countRows();
          const res = await postJson(path, body === 'just text' ? JSON.stringify(body) : body === null ? 'null' : body);
          expect(res.statusCode).toBe(400);
          expect(res.json()).toEqual({ error: { code: 'validation_failed', message: expect.any(String), field } });
          expect(await wy.countRows()).toBe(before);
        });
      }

      it('takes the seed\'s fields: opinion for the message, no name (listed as Anonymous), no email — sync and async', async () => {
        const sync = await postJson('/feedback/sync', { opinion: 'Seed style, sync.' });
        expect(sync.statusCode).toBe(201);
        const queued = await postJson('/feedback/async', { name: '', email: null, opinion: 'Seed style, queued.' });
        expect(queued.statusCode).toBe(202);
        expect((await wy.workyard.ctx.queue.waitForFinish(queued.json().task_id, 10_000)).result).toMatchObject({ stored: true });
        const both = await postJson('/feedback/sync', { name: null, email: '', message: 'Both names.', opinion: 'Both names.' });
        expect(both.statusCode).toBe(201);
        const db = tablesOf(wy.workyard.ctx.database);
        for (const [id, message] of [[sync.json().id, 'Seed style, sync.'], [queued.json().task_id, 'Seed style, queued.'], [both.json().id, 'Both names.']]) {
          expect(await db.selectFrom('feedback_entries').select(['name', 'email', 'message']).where('id', '=', id).executeTakeFirst()).toEqual({ name: '', email: '', message });
          expect((await list()).find((e) => e.id === id)).toMatchObject({ name: '', message });
        }
        const page = (await wy.app.inject({ url: '/feedback' })).body;
        expect(page).toMatch(new RegExp(`data-id="${sync.json().id}">\\s*<div class="entry-head"><strong class="name anonymous">Anonymous</strong>`));
        expect(page).toMatch(new RegExp(`data-id="${queued.json().task_id}">\\s*<div class="entry-head"><strong class="name anonymous">Anonymous</strong>`));
      });

      it('refuses malformed and empty JSON with 400 (never a 500)', async () => {
        for (const payload of ['{"name": "Ada",', '', '{"name": "a", "email": "a@b.co", "message": "m", "rating": 01}']) {
          const res = await postJson('/feedback/sync', payload);
          expect(res.statusCode, payload).toBe(400);
          expect(res.json().error).toMatchObject({ code: 'validation_failed', field: 'body' });
        }
      });

      it('checks a 60,000-character email quickly (no slow pattern on long input)', async () => {
        const started = performance.now();
        const res = await postJson('/feedback/sync', { ...validFeedback, email: `${'a'.repeat(30_000)}@${'b-'.repeat(15_000)}` });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.field).toBe('email');
        expect(performance.now() - started).toBeLessThan(500);
      });

      it('refuses a body over 64 KiB with 413 in the standard shape, on both routes', async () => {
        for (const path of ['/feedback/sync', '/feedback/async']) {
          const res = await postJson(path, { ...validFeedback, message: 'x'.repeat(70_000) });
          expect(res.statusCode).toBe(413);
          expect(res.json()).toEqual({ error: { code: 'payload_too_large', message: expect.any(String), field: 'body' } });
        }
        // just over the limit counts; just under is read (and then judged by the rules)
        expect((await postJson('/feedback/sync', { ...validFeedback, message: 'x'.repeat(64 * 1024) })).statusCode).toBe(413);
        expect((await postJson('/feedback/sync', { ...validFeedback, message: 'x'.repeat(64 * 1024 - 100) })).statusCode).toBe(400);
      });

      it('refuses other body types with 415 naming the content type', async () => {
        for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/xml']) {
          const res = await wy.app.inject({ method: 'POST', url: '/feedback/sync', headers: { 'content-type': type }, payload: 'name=a' });
          expect(res.statusCode, type).toBe(415);
          expect(res.json().error.code).toBe('unsupported_media_type');
        }
        const none = await wy.app.inject({ method: 'POST', url: '/feedback/async' });
        expect(none.statusCode).toBe(415);
        expect(none.json().error.field).toBe('content-type');
      });

      it('needs no CSRF token: a JSON body cannot be sent cross-site without a preflight', async () => {
        const res = await postJson('/feedback/sync', validFeedback, { origin: 'https://elsewhere.example' });
        expect(res.statusCode).toBe(201);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      });
    });

    describe('HTML forms', () => {
      const fields = { name: 'Grace Hopper', email: 'grace@example.com', message: 'Form feedback', rating: '4' };

      it('sync: 303 to /feedback with a notice, and the entry is listed', async () => {
        const res = await form.post('/feedback/sync', fields);
        expect(res.statusCode).toBe(303);
        const location = res.headers.location as string;
        const id = /^\/feedback\?saved=([0-9a-f-]{36})$/.exec(location)?.[1];
        expect(id).toMatch(UUID);
        const page = await wy.app.inject({ url: location, headers: { cookie: form.cookie } });
        expect(page.statusCode).toBe(200);
        expect(page.body).toContain('your feedback was saved');
        expect(page.body).toMatch(new RegExp(`data-id="${id}">[\\s\\S]*Grace Hopper[\\s\\S]*4/5[\\s\\S]*Form feedback`));
      });

      it('async: 303 to /feedback with the task id in the notice; the entry is listed once saved', async () => {
        const res = await form.post('/feedback/async', { ...fields, name: 'Queued Grace', rating: '' });
        expect(res.statusCode).toBe(303);
        const id = /^\/feedback\?queued=([0-9a-f-]{36})$/.exec(res.headers.location as string)?.[1];
        expect(id).toMatch(UUID);
        const page = await wy.app.inject({ url: res.headers.location as string });
        expect(page.body).toContain(`queued as task <a href="/tasks/${id}"><code>${id}</code></a>`);
        await expect.poll(async () => (await wy.app.inject({ url: '/feedback' })).body, { timeout: 10_000 }).toContain(`data-id="${id}"`);
      });

      it('invalid: 400 with the page again, each error beside its field, what was typed kept (escaped)', async () => {
        const before = await wy.countRows();
        const res = await form.post('/feedback/async', { name: '<b>Bold</b>', email: 'not-an-email', message: '', rating: '9' });
        expect(res.statusCode).toBe(400);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        const body = res.body;
        expect(body).toContain('id="error-summary"');
        for (const field of ['email', 'message', 'rating']) {
          // the message sits right after its own control, which points to it
          expect(body).toMatch(new RegExp(`id="async-${field}"[^>]*aria-invalid="true" aria-describedby="async-${field}-error"[\\s\\S]{0,400}?<p class="error" id="async-${field}-error">`));
        }
        expect(body).not.toContain('id="async-name-error"');
        expect(body).toContain('value="&lt;b&gt;Bold&lt;/b&gt;"');
        expect(body).not.toContain('<b>Bold</b>');
        expect(body).toContain('value="not-an-email"');
        expect(body).toContain('<option value="" selected>');
        // the other form is untouched
        expect(body).toMatch(/id="sync-name"[^>]*value=""/);
        expect(body).not.toContain('id="sync-email-error"');
        // and a fresh token comes with it, so the corrected form can be sent
        expect(body).toMatch(/name="_csrf" value="[^"]+"/);
        expect(await wy.countRows()).toBe(before);
      });

      it('keeps a message with line breaks (including a leading one) when shown again', async () => {
        const res = await form.post('/feedback/sync', { name: 'A', email: 'bad', message: '\nfirst\nsecond' });
        expect(res.statusCode).toBe(400);
        expect(res.body).toMatch(/<textarea id="sync-message"[^>]*>\n\nfirst\nsecond<\/textarea>/);
      });

      it('takes the seed form\'s fields: name left empty (listed as Anonymous) and opinion, no email', async () => {
        for (const path of ['/feedback/sync', '/feedback/async']) {
          const res = await form.post(path, { name: '', opinion: `Seed form via ${path}` });
          expect(res.statusCode).toBe(303);
          const id = /=([0-9a-f-]{36})$/.exec(res.headers.location as string)![1];
          const body = await vi.waitUntil(async () => { const page = (await wy.app.inject({ url: '/feedback' })).body; return page.includes(`data-id="${id}"`) && page; }, { timeout: 10_000 });
          expect(body).toMatch(new RegExp(`data-id="${id}">\\s*<div class="entry-head"><strong class="name anonymous">Anonymous</strong>[\\s\\S]*?Seed form via ${path}`));
        }
      });

      it('refuses an opinion that differs from the message, showing why in the message field', async () => {
        const before = await wy.countRows();
        const res = await form.post('/feedback/sync', { ...fields, opinion: 'Another text' });
        expect(res.statusCode).toBe(400);
        expect(res.body).toMatch(/<p class="error" id="sync-message-error">Your opinion and message are two names for one field/);
        expect(await wy.countRows()).toBe(before);
      });

      it('refuses a field sent twice and unknown fields, storing nothing', async () => {
        const before = await wy.countRows();
        const twice = await form.post('/feedback/sync', { ...fields, name: ['a', 'b'] });
        expect(twice.statusCode).toBe(400);
        expect(twice.body).toContain('Send name once, not 2 times.');
        const extra = await form.post('/feedback/sync', { ...fields, admin: '1' });
        expect(extra.statusCode).toBe(400);
        expect(extra.body).toContain('Unexpected field: admin.');
        expect(await wy.countRows()).toBe(before);
      });

      it('refuses a form over 64 KiB with 413: the page again, what was typed kept (more in error-pages.test.ts)', async () => {
        const res = await form.post('/feedback/sync', { ...fields, message: 'x'.repeat(70_000) });
        expect(res.statusCode).toBe(413);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.body).toContain(`>\n${'x'.repeat(70_000)}</textarea>`);
      });

      it('accepts the largest valid form, percent-encoded, under 64 KiB', async () => {
        const res = await form.post('/feedback/sync', { name: '😀'.repeat(100), email: 'a@b.co', message: '😀'.repeat(5000), rating: '5' });
        expect(res.statusCode).toBe(303);
      });
    });

    describe('CSRF on form posts', () => {
      const fields = { name: 'Mallory', email: 'mallory@example.com', message: 'forged' };
      const cases: [string, { token?: string | null; cookie?: string | null }][] = [
        ['no token', { token: null }],
        ['a wrong token', { token: 'abc-def' }],
        ['no cookie', { cookie: null }],
        ['a token for another cookie', { cookie: 'wy_feedback_csrf=someoneElsesSecret123' }],
      ];
      for (const path of ['/feedback/sync', '/feedback/async']) {
        it.each(cases)(`${path} refuses %s with 403, storing and queueing nothing`, async (_case, extra) => {
          const rows = await wy.countRows();
          const jobs = (await wy.workyard.ctx.queue.listRecent({ name: 'feedback.save', limit: 1000 })).length;
          const res = await form.post(path, fields, extra);
          expect(res.statusCode).toBe(403);
          expect(res.headers['content-type']).toMatch(/^text\/html/);
          expect(res.body).toContain('the form had expired or did not come from this site');
          // what was typed is kept, with a valid token, so a person can simply send it again
          expect(res.body).toContain('value="Mallory"');
          expect(await wy.countRows()).toBe(rows);
          expect((await wy.workyard.ctx.queue.listRecent({ name: 'feedback.save', limit: 1000 })).length).toBe(jobs);
        });
      }

      it('keeps a seed form\'s opinion in the message field of the 403 page', async () => {
        const res = await form.post('/feedback/sync', { name: 'Ola', opinion: 'typed as the seed form names it' }, { token: null });
        expect(res.statusCode).toBe(403);
        expect(res.body).toContain('typed as the seed form names it');
      });

      it('accepts the token in the x-csrf-token header too', async () => {
        const res = await wy.app.inject({
          method: 'POST',
          url: '/feedback/sync',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookie, 'x-csrf-token': form.token },
          payload: new URLSearchParams(fields).toString(),
        });
        expect(res.statusCode).toBe(303);
      });

      it('sets the secret cookie HttpOnly, SameSite=Strict, scoped to /feedback', async () => {
        const page = await wy.app.inject({ url: '/feedback' });
        expect(String(page.headers['set-cookie'])).toMatch(/^wy_feedback_csrf=[^;]+; Path=\/feedback; HttpOnly; SameSite=Strict$/);
      });
    });
  });
}
