// Resumable uploads (tus) on the disk store, driven by tus-js-client, the protocol's real client:
// an upload lands as the blob its metadata names, with the key rules, the size limit, the
// conditions and the digest of a put; uploads can be terminated, and unfinished ones expire.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Upload } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawResponse, blobPath, rawRequest } from '../../../test/support/blobs.js';
import { b64, sha256Hex, startTusUpload } from '../../../test/support/tus.js';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { BlobsInstance, blobsModule } from './index.js';

const TUS = { 'tus-resumable': '1.0.0' };
const metadataOf = (fields: Record<string, string>) => Object.entries(fields).map(([name, value]) => `${name} ${b64(value)}`).join(',');
const errorOf = (response: RawResponse) => JSON.parse(response.body.toString()).error as { code: string; field?: string; message: string };

function create(baseUrl: string, headers: Record<string, string | number>): Promise<RawResponse> {
  return rawRequest(baseUrl, { method: 'POST', path: '/uploads', headers: { ...TUS, ...headers } });
}

function patch(baseUrl: string, location: string, offset: number, bytes: Buffer): Promise<RawResponse> {
  return rawRequest(baseUrl, { method: 'PATCH', path: location, headers: { ...TUS, 'upload-offset': offset, 'content-type': 'application/offset+octet-stream', 'content-length': bytes.length }, body: bytes });
}

describe('resumable uploads on disk', () => {
  let app: TestWorkyard;
  beforeAll(async () => {
    app = await startTestWorkyard({ WORKYARD_BLOBS_MAX_BYTES: String(8 * 1024 * 1024), WORKYARD_API_KEY: 'admin-key' });
  });
  afterAll(() => app?.close());

  it('lands a tus-js-client upload, sent in chunks, as the blob its metadata names', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const run = startTusUpload(app.baseUrl, bytes, { chunkSize: 1024 * 1024, metadata: { key: 'tus/photos/cat.jpg', 'content-type': 'image/jpeg' } });
    const { url, etag } = await run.done;
    const got = await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/photos/cat.jpg') });
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('image/jpeg');
    expect(sha256Hex(got.body)).toBe(sha256Hex(bytes));
    expect(got.headers.etag).toBe(etag);
    // Landed uploads are removed: their bytes live on as the blob only.
    const head = await rawRequest(app.baseUrl, { method: 'HEAD', path: new URL(url).pathname, headers: TUS });
    expect(head.status).toBe(404);
  });

  it('answers 400 naming the metadata field when the key is missing or breaks the key rules', async () => {
    const none = await create(app.baseUrl, { 'upload-length': 10 });
    expect(none.status).toBe(400);
    expect(errorOf(none).field).toBe('upload-metadata');
    const noKey = await create(app.baseUrl, { 'upload-length': 10, 'upload-metadata': metadataOf({ 'content-type': 'text/plain' }) });
    expect(noKey.status).toBe(400);
    expect(errorOf(noKey).field).toBe('upload-metadata.key');
    for (const key of ['a//b', '../etc', 'x'.repeat(1025)]) {
      const bad = await create(app.baseUrl, { 'upload-length': 10, 'upload-metadata': metadataOf({ key }) });
      expect(bad.status, key).toBe(400);
      expect(errorOf(bad).field).toBe('upload-metadata.key');
    }
    const notUtf8 = await create(app.baseUrl, { 'upload-length': 10, 'upload-metadata': `key ${Buffer.from([0x61, 0xff]).toString('base64')}` });
    expect(notUtf8.status).toBe(400);
    expect(errorOf(notUtf8).field).toBe('upload-metadata.key');
    const notBase64 = await create(app.baseUrl, { 'upload-length': 10, 'upload-metadata': 'key ab!c' });
    expect(notBase64.status).toBe(400);
    expect(errorOf(notBase64).field).toBe('upload-metadata');
    // tus-js-client reports the refusal as an error, and nothing was created.
    await expect(startTusUpload(app.baseUrl, Buffer.from('x'), { metadata: { filename: 'x' } }).done).rejects.toThrow(/400/);
  });

  it('answers 413 when Upload-Length is over the size limit, and when PATCHes of a deferred length pass it', async () => {
    const tooLong = await create(app.baseUrl, { 'upload-length': 8 * 1024 * 1024 + 1, 'upload-metadata': metadataOf({ key: 'tus/too-big' }) });
    expect(tooLong.status).toBe(413);
    expect(errorOf(tooLong).field).toBe('upload-length');
    await expect(startTusUpload(app.baseUrl, randomBytes(8 * 1024 * 1024 + 1), { metadata: { key: 'tus/too-big' } }).done).rejects.toThrow(/413/);

    const deferred = await create(app.baseUrl, { 'upload-defer-length': 1, 'upload-metadata': metadataOf({ key: 'tus/too-big' }) });
    expect(deferred.status).toBe(201);
    const location = deferred.headers.location!;
    const first = await patch(app.baseUrl, location, 0, randomBytes(6 * 1024 * 1024));
    expect(first.status).toBe(204);
    const second = await patch(app.baseUrl, location, 6 * 1024 * 1024, randomBytes(3 * 1024 * 1024));
    expect(second.status).toBe(413);
    expect(errorOf(second).code).toBe('payload_too_large');
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/too-big') })).status).toBe(404);
  });

  it('checks the sha256 of the metadata at landing: a mismatch is 400 and stores nothing, the previous version stays', async () => {
    const bytes = randomBytes(200_000);
    await startTusUpload(app.baseUrl, bytes, { metadata: { key: 'tus/digest', sha256: sha256Hex(bytes) } }).done;
    const other = randomBytes(200_000);
    const wrong = startTusUpload(app.baseUrl, other, { metadata: { key: 'tus/digest', sha256: sha256Hex(bytes) } });
    await expect(wrong.done).rejects.toThrow(/400[\s\S]*upload-metadata\.sha256/);
    const got = await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/digest') });
    expect(sha256Hex(got.body)).toBe(sha256Hex(bytes));
    const malformed = await create(app.baseUrl, { 'upload-length': 1, 'upload-metadata': metadataOf({ key: 'tus/digest', sha256: 'abc' }) });
    expect(malformed.status).toBe(400);
    expect(errorOf(malformed).field).toBe('upload-metadata.sha256');
  });

  it('applies If-None-Match: * and If-Match of the creation request: refused at creation, and again at landing', async () => {
    const first = await startTusUpload(app.baseUrl, Buffer.from('first'), { metadata: { key: 'tus/conditional' }, headers: { 'If-None-Match': '*' } }).done;
    expect(first.etag).toMatch(/^".+"$/);
    const exists = await create(app.baseUrl, { 'upload-length': 6, 'upload-metadata': metadataOf({ key: 'tus/conditional' }), 'if-none-match': '*' });
    expect(exists.status).toBe(412);
    expect(errorOf(exists).field).toBe('if-none-match');
    const stale = await create(app.baseUrl, { 'upload-length': 6, 'upload-metadata': metadataOf({ key: 'tus/conditional' }), 'if-match': '"0123"' });
    expect(stale.status).toBe(412);
    expect(errorOf(stale).field).toBe('if-match');

    // Created while the etag held; another put lands first: the upload's last PATCH is refused.
    const created = await create(app.baseUrl, { 'upload-length': 6, 'upload-metadata': metadataOf({ key: 'tus/conditional' }), 'if-match': first.etag! });
    expect(created.status).toBe(201);
    const put = await rawRequest(app.baseUrl, { method: 'PUT', path: blobPath('tus/conditional'), headers: { 'content-type': 'text/plain' }, body: Buffer.from('racer') });
    expect(put.status).toBe(201);
    const last = await patch(app.baseUrl, created.headers.location!, 0, Buffer.from('second'));
    expect(last.status).toBe(412);
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/conditional') })).body.toString()).toBe('racer');

    // If-Match of the current version lands.
    const current = (await rawRequest(app.baseUrl, { method: 'HEAD', path: blobPath('tus/conditional') })).headers.etag!;
    await startTusUpload(app.baseUrl, Buffer.from('third'), { metadata: { key: 'tus/conditional' }, headers: { 'If-Match': current } }).done;
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/conditional') })).body.toString()).toBe('third');
  });

  it('lands, when a client resumes it, a finished upload whose node stopped before landing it', async () => {
    const bytes = randomBytes(300_000);
    const created = await create(app.baseUrl, { 'upload-length': bytes.length, 'upload-metadata': metadataOf({ key: 'tus/late', 'content-type': 'text/x-late' }) });
    const location = created.headers.location!;
    // All the bytes reached the upload store, and then the node died: nothing landed.
    const uploads = app.workyard.instanceOf<BlobsInstance>(blobsModule).uploads;
    await (await uploads.store.datastore()).write(Readable.from([bytes]), location.split('/').pop()!, 0);
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/late') })).status).toBe(404);
    // The client, restarted, asks where its upload is: complete — and stored.
    const resumed = startTusUpload(app.baseUrl, bytes, { uploadUrl: new URL(location, app.baseUrl).href, metadata: { key: 'tus/late' } });
    const { etag } = await resumed.done;
    expect(resumed.patchOffsets).toEqual([]);
    const got = await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/late') });
    expect(got.headers['content-type']).toBe('text/x-late');
    expect(got.headers.etag).toBe(etag);
    expect(sha256Hex(got.body)).toBe(sha256Hex(bytes));
    expect((await rawRequest(app.baseUrl, { method: 'HEAD', path: location, headers: TUS })).status).toBe(404);
  });

  it('keeps a finished upload the blob store failed to take, and lands it on the client\'s next HEAD', async () => {
    // The disk store cannot write (its temporary directory is a file now) when the upload lands.
    const tmp = path.join(app.dataDir, 'blobs', 'tmp');
    fs.renameSync(tmp, `${tmp}-away`);
    fs.writeFileSync(tmp, '');
    const bytes = randomBytes(100_000);
    const first = startTusUpload(app.baseUrl, bytes, { metadata: { key: 'tus/store-failed' } });
    try {
      await expect(first.done).rejects.toThrow(/500[\s\S]*a HEAD of it tries again/);
    } finally {
      fs.rmSync(tmp);
      fs.renameSync(`${tmp}-away`, tmp);
    }
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/store-failed') })).status).toBe(404);
    const resumed = startTusUpload(app.baseUrl, bytes, { uploadUrl: first.upload.url, metadata: { key: 'tus/store-failed' } });
    await resumed.done;
    expect(resumed.patchOffsets).toEqual([]);
    expect(sha256Hex((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/store-failed') })).body)).toBe(sha256Hex(bytes));
  });

  it('lets no other origin\'s page upload: no Access-Control-Allow-Origin, as on every Workyard route', async () => {
    const preflight = await rawRequest(app.baseUrl, { method: 'OPTIONS', path: '/uploads', headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST' } });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const created = await create(app.baseUrl, { origin: 'https://elsewhere.example', 'upload-length': 1, 'upload-metadata': metadataOf({ key: 'tus/cors' }) });
    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('terminates an upload (DELETE, with the API key as DELETE /blobs/{key} needs it): nothing lands, the upload is gone', async () => {
    const created = await create(app.baseUrl, { 'upload-length': 100, 'upload-metadata': metadataOf({ key: 'tus/terminated' }) });
    const location = created.headers.location!;
    expect((await patch(app.baseUrl, location, 0, randomBytes(50))).status).toBe(204);
    const anonymous = await rawRequest(app.baseUrl, { method: 'DELETE', path: location, headers: TUS });
    expect(anonymous.status).toBe(401);
    await Upload.terminate(new URL(location, app.baseUrl).href, { headers: { authorization: 'Bearer admin-key' } });
    const head = await rawRequest(app.baseUrl, { method: 'HEAD', path: location, headers: TUS });
    expect(head.status).toBe(404);
    expect((await patch(app.baseUrl, location, 50, randomBytes(50))).status).toBe(404);
    expect((await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/terminated') })).status).toBe(404);
  });
});

describe('unfinished uploads expire', () => {
  let app: TestWorkyard;
  beforeAll(async () => {
    app = await startTestWorkyard({ WORKYARD_BLOBS_UPLOAD_EXPIRY_MS: '1000' });
  });
  afterAll(() => app?.close());

  it('gives Upload-Expires, answers 410 once past it, and the sweep removes the upload', async () => {
    const created = await create(app.baseUrl, { 'upload-length': 100, 'upload-metadata': metadataOf({ key: 'tus/expiring' }) });
    expect(created.status).toBe(201);
    const expires = Date.parse(created.headers['upload-expires'] as string);
    expect(expires).toBeGreaterThan(Date.now() - 2_000);
    expect(expires).toBeLessThan(Date.now() + 2_000);
    const location = created.headers.location!;
    expect((await patch(app.baseUrl, location, 0, randomBytes(40))).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const late = await patch(app.baseUrl, location, 40, randomBytes(60));
    expect(late.status).toBe(410);
    expect(errorOf(late).code).toBe('gone');
    const uploads = app.workyard.instanceOf<BlobsInstance>(blobsModule).uploads;
    expect(await uploads.sweepExpired()).toBeGreaterThanOrEqual(1);
    expect((await rawRequest(app.baseUrl, { method: 'HEAD', path: location, headers: TUS })).status).toBe(404);
  });
});

describe('resumable uploads with write-behind on', () => {
  let app: TestWorkyard;
  beforeAll(async () => {
    app = await startTestWorkyard({ WORKYARD_BLOBS_WRITE_BEHIND: 'true' });
  });
  afterAll(() => app?.close());

  it('lands over a smaller version still waiting in the fast tier, which never lands over it afterwards', async () => {
    const put = await rawRequest(app.baseUrl, { method: 'PUT', path: blobPath('tus/behind'), headers: { 'content-type': 'text/plain' }, body: Buffer.from('small, acknowledged from the fast tier') });
    expect(put.status).toBe(201);
    const bytes = randomBytes(2 * 1024 * 1024);
    await startTusUpload(app.baseUrl, bytes, { metadata: { key: 'tus/behind' } }).done;
    const tier = app.workyard.instanceOf<BlobsInstance>(blobsModule).service.writeBehind!.tier;
    await expect.poll(async () => (await tier.list({ prefix: 'tus/', limit: 1 })).length, { timeout: 15_000 }).toBe(0);
    const got = await rawRequest(app.baseUrl, { method: 'GET', path: blobPath('tus/behind') });
    expect(sha256Hex(got.body)).toBe(sha256Hex(bytes));
  });
});
