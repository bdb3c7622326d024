// Write tokens (WORKYARD_BLOBS_WRITE_ACCESS=token), on SQLite and PostgreSQL: a token writes under
// its prefixes with its methods until it expires or is revoked, on every write route (PUT, /put/,
// resumable uploads, DELETE); outside them a 403 naming why; unknown or missing, a 401. The
// database keeps its SHA-256 only.
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverMatrix } from '../../../test/support/drivers.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { tokenDigest } from './write-tokens.js';

const KEY = 'tokens-test-api-key';
const admin = { authorization: `Bearer ${KEY}` };

for (const driver of (await driverMatrix()).filter((d) => d.queue === 'sql')) {
  describe.skipIf(!driver.available)(`blob write tokens on ${driver.dialect}`, () => {
    let wy: TestWorkyard;
    let cleanup = async () => {};
    beforeAll(async () => {
      const drivers = await driver.setUp();
      cleanup = drivers.cleanup;
      wy = await startTestWorkyard({ ...drivers.env, WORKYARD_API_KEY: KEY, WORKYARD_BLOBS_WRITE_ACCESS: 'token' });
    });
    afterAll(async () => {
      await wy?.close();
      await cleanup();
    });

    const call = (method: string, path: string, options: { body?: string; token?: string; headers?: Record<string, string> } = {}) =>
      fetch(wy.baseUrl + path, { method, body: options.body, headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers } });
    const makeToken = async (grant: Record<string, unknown>) => {
      const res = await call('POST', '/blob-tokens', { body: JSON.stringify(grant), headers: { ...admin, 'content-type': 'application/json' } });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; token: string; prefixes: string[]; methods: string[]; expires_at: string | null };
    };
    const refusal = async (res: Response) => ({ status: res.status, ...((await res.json()) as { error: { code: string; reason?: string } }).error });

    it('writes under its prefixes with its methods, on every write route', async () => {
      const made = await makeToken({ prefixes: ['users/42/'], methods: ['PUT', 'DELETE'] });
      expect(made.token).toMatch(/^wyt_[\w-]{43}$/);
      expect(made.expires_at).toBeNull();
      expect((await call('PUT', '/blobs/users/42/a.txt', { body: 'mine', token: made.token })).status).toBe(201);
      const put = await call('POST', '/put/', { body: JSON.stringify({ key: 'users/42/b', extension: 'txt', data: 'eA==' }), token: made.token, headers: { 'content-type': 'application/json' } });
      expect(put.status).toBe(201);
      const upload = await call('POST', '/uploads', { token: made.token, headers: { 'tus-resumable': '1.0.0', 'upload-length': '4', 'upload-metadata': `key ${Buffer.from('users/42/c.bin').toString('base64')}` } });
      expect(upload.status).toBe(201);
      expect((await call('DELETE', '/blobs/users/42/a.txt', { token: made.token })).status).toBe(204);
    });

    it('refuses other keys and methods (403 naming why), and unknown or missing tokens (401)', async () => {
      const putOnly = await makeToken({ prefixes: ['users/7/', 'shared/'], methods: ['PUT'] });
      expect(await refusal(await call('PUT', '/blobs/users/8/a.txt', { body: 'x', token: putOnly.token }))).toMatchObject({ status: 403, code: 'forbidden', reason: 'prefix' });
      expect((await call('PUT', '/blobs/shared/a.txt', { body: 'x', token: putOnly.token })).status).toBe(201);
      expect(await refusal(await call('DELETE', '/blobs/shared/a.txt', { token: putOnly.token }))).toMatchObject({ status: 403, reason: 'method' });
      const outside = await call('POST', '/put/', { body: JSON.stringify({ key: 'elsewhere', extension: '', data: 'eA==' }), token: putOnly.token, headers: { 'content-type': 'application/json' } });
      expect(await refusal(outside)).toMatchObject({ status: 403, reason: 'prefix' });
      const upload = await call('POST', '/uploads', { token: putOnly.token, headers: { 'tus-resumable': '1.0.0', 'upload-length': '4', 'upload-metadata': `key ${Buffer.from('users/8/c.bin').toString('base64')}` } });
      expect(upload.status).toBe(403);
      expect((await refusal(await call('PUT', '/blobs/shared/b.txt', { body: 'x', token: 'wyt_never-made-by-this-server-0000000000000000000' }))).status).toBe(401);
      expect((await refusal(await call('PUT', '/blobs/shared/b.txt', { body: 'x' }))).status).toBe(401);
      // the API key still writes and deletes anything
      expect((await call('PUT', '/blobs/anything.txt', { body: 'x', headers: admin })).status).toBe(201);
      expect((await call('DELETE', '/blobs/anything.txt', { headers: admin })).status).toBe(204);
    });

    it('stops at its expiry and when revoked; lists without secrets; keeps only digests', async () => {
      const brief = await makeToken({ prefixes: [''], methods: ['PUT'], expires_in: 1 });
      expect(Date.parse(brief.expires_at!) - Date.now()).toBeLessThanOrEqual(1_000);
      const lasting = await makeToken({ prefixes: [''], methods: ['PUT'] });
      expect((await call('PUT', '/blobs/t/1', { body: 'x', token: lasting.token })).status).toBe(201);
      await sleep(1_100);
      expect(await refusal(await call('PUT', '/blobs/t/2', { body: 'x', token: brief.token }))).toMatchObject({ status: 403, reason: 'expired' });

      const listed = (await (await call('GET', '/blob-tokens', { headers: admin })).json()) as { items: Record<string, unknown>[] };
      expect(listed.items.map((item) => item.id)).toContain(lasting.id);
      expect(JSON.stringify(listed)).not.toContain(lasting.token);
      expect(listed.items.every((item) => !('token' in item))).toBe(true);
      const stored = await sql<{ token_sha256: string }>`select token_sha256 from blobs_write_tokens where id = ${lasting.id}`.execute(wy.workyard.ctx.database.db);
      expect(stored.rows).toEqual([{ token_sha256: tokenDigest(lasting.token) }]);
      const everything = JSON.stringify((await sql`select * from blobs_write_tokens`.execute(wy.workyard.ctx.database.db)).rows);
      expect(everything).not.toContain(lasting.token.slice(4));

      expect((await call('DELETE', `/blob-tokens/${lasting.id}`, { headers: admin })).status).toBe(204);
      expect((await call('DELETE', `/blob-tokens/${lasting.id}`, { headers: admin })).status).toBe(404);
      expect((await refusal(await call('PUT', '/blobs/t/3', { body: 'x', token: lasting.token }))).status).toBe(401);
    });

    it('makes tokens for the admin only, naming a bad field', async () => {
      const post = (body: unknown, headers: Record<string, string> = admin) => call('POST', '/blob-tokens', { body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } });
      expect((await post({ prefixes: [''], methods: ['PUT'] }, {})).status).toBe(401);
      const field = async (body: unknown) => ((await (await post(body)).json()) as { error: { field: string } }).error.field;
      expect(await field({ prefixes: [], methods: ['PUT'] })).toBe('prefixes');
      expect(await field({ prefixes: ['a/'], methods: ['GET'] })).toMatch(/^methods/);
      expect(await field({ prefixes: ['a/'], methods: ['PUT'], expires_in: 0 })).toBe('expires_in');
      expect((await call('GET', '/blob-tokens')).status).toBe(401);
    });
  });
}

describe('write tokens outside token mode', () => {
  let wy: TestWorkyard;
  beforeAll(async () => {
    wy = await startTestWorkyard({ WORKYARD_API_KEY: KEY, WORKYARD_BLOBS_WRITE_ACCESS: 'key' });
  });
  afterAll(() => wy?.close());

  it('are not made, and deleting still needs the API key', async () => {
    const res = await fetch(`${wy.baseUrl}/blob-tokens`, { method: 'POST', body: JSON.stringify({ prefixes: [''], methods: ['PUT'] }), headers: { ...admin, 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('WORKYARD_BLOBS_WRITE_ACCESS=token');
    expect((await fetch(`${wy.baseUrl}/blobs/x`, { method: 'DELETE' })).status).toBe(401);
  });
});
