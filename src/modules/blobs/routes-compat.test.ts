// The compatible routes: base64 in JSON, as the service Workyard replaces answered them.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverHandle, startS3rver } from '../../../test/support/s3rver.js';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

// What Python's own encoders write for the seed's "bytes in base64, serialised to a string": every
// byte value twice and one more (so every character of both alphabets appears, and padding too).
const PYTHON_ENCODINGS = `
import base64, email.base64mime, json
data = bytes(range(256)) * 2 + b'!'
print(json.dumps({
  'encodebytes': base64.encodebytes(data).decode(),
  'mime': email.base64mime.body_encode(data, eol='\\r\\n'),
  'urlsafe': base64.urlsafe_b64encode(data).decode(),
  'unpadded': base64.b64encode(data).decode().rstrip('='),
}))
`;
const pythonBytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('!')]);
let python: Record<'encodebytes' | 'mime' | 'urlsafe' | 'unpadded', string>;

let s3: S3rverHandle;
beforeAll(async () => {
  python = JSON.parse(execFileSync('python3', ['-c', PYTHON_ENCODINGS], { encoding: 'utf8' }));
  s3 = await startS3rver();
});
afterAll(() => s3?.stop());

const variants = [
  { name: 'disk', env: () => ({}) },
  { name: 'disk, write-behind', env: () => ({ WORKYARD_BLOBS_WRITE_BEHIND: 'true' }) },
  { name: 's3rver', env: () => s3.env('compat') },
];

describe.each(variants)('compatible blob routes: $name', (variant) => {
  const wy = suiteWorkyard(() => startTestWorkyard({ ...variant.env(), WORKYARD_DEPENDENCY_TIMEOUT_MS: '10000' }));
  const inject = (options: InjectOptions) => wy.workyard.app.inject(options);
  const put = (body: unknown) => inject({ method: 'POST', url: '/put/', payload: body as object });

  it('stores base64 data and answers it back with its key and extension', async () => {
    const bytes = randomBytes(1000);
    const res = await put({ key: 'img/logo', extension: 'png', data: bytes.toString('base64') });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({ msg: 'stored', key: 'img/logo' });
    const got = await inject({ url: '/get/img/logo' });
    expect(got.statusCode).toBe(200);
    expect(got.headers['content-type']).toMatch(/^application\/json/);
    expect(Number(got.headers['content-length'])).toBe(got.rawPayload.length);
    expect(got.json()).toEqual({ key: 'img/logo', extension: 'png', data: bytes.toString('base64') });
  });

  it('serves a blob put as JSON on the native route, typed by its extension, and the other way round', async () => {
    await put({ key: 'cross/a', extension: 'png', data: Buffer.from('png bytes').toString('base64') });
    const native = await inject({ url: '/blobs/cross/a' });
    expect(native.headers['content-type']).toBe('image/png');
    expect(native.body).toBe('png bytes');
    await inject({ method: 'PUT', url: '/blobs/cross/b', payload: Buffer.from([0, 1, 2, 250]) });
    expect((await inject({ url: '/get/cross/b' })).json()).toEqual({ key: 'cross/b', extension: '', data: Buffer.from([0, 1, 2, 250]).toString('base64') });
  });

  it('encodes while it streams: every length mod 3, and a blob of several megabytes', async () => {
    for (const size of [0, 1, 2, 3, 4, 65537, 3 * 1024 * 1024 + 1]) {
      const bytes = randomBytes(size);
      await inject({ method: 'PUT', url: `/blobs/sizes/${size}`, payload: bytes });
      const got = await inject({ url: `/get/sizes/${size}` });
      expect(Number(got.headers['content-length'])).toBe(got.rawPayload.length);
      expect(Buffer.from(got.json().data, 'base64').equals(bytes)).toBe(true);
    }
  });

  it('takes what Python\'s encoders write: encodebytes (\\n every 76), MIME (\\r\\n), url-safe, without padding', async () => {
    expect(python.encodebytes).toMatch(/^[A-Za-z0-9+/]{76}\n/);
    expect(python.mime).toMatch(/^[A-Za-z0-9+/]{76}\r\n/);
    expect(python.urlsafe).toMatch(/[-_]/);
    expect(python.unpadded).not.toMatch(/=$/);
    for (const [name, data] of Object.entries(python)) {
      const res = await put({ key: `python/${name}`, extension: 'bin', data });
      expect(res.statusCode, name).toBe(201);
      const got = await inject({ url: `/blobs/python/${name}` });
      expect(got.rawPayload.equals(pythonBytes), name).toBe(true);
      expect((await inject({ url: `/get/python/${name}` })).json().data).toBe(pythonBytes.toString('base64'));
    }
  });

  it.each([
    ['png', 'png', 'image/png'],
    ['.png', 'png', 'image/png'],
    ['PNG', 'PNG', 'image/png'],
    ['tar.gz', 'tar.gz', 'application/gzip'],
    ['.tar.gz', 'tar.gz', 'application/gzip'],
    ['', '', 'application/octet-stream'],
  ])('takes the extension %j as %j, served as %s', async (given, kept, type) => {
    const key = `ext/${given || 'none'}`;
    expect((await put({ key, extension: given, data: 'YWJj' })).statusCode).toBe(201);
    expect((await inject({ url: `/get/${key}` })).json()).toEqual({ key, extension: kept, data: 'YWJj' });
    expect((await inject({ url: `/blobs/${key}` })).headers['content-type']).toBe(type);
  });

  it("takes an extension named like an object's prototype as an unknown one, and lists the blob", async () => {
    expect((await put({ key: 'proto/constructor', extension: 'constructor', data: 'YWJj' })).statusCode).toBe(201);
    expect((await inject({ url: '/blobs/proto/constructor' })).headers['content-type']).toBe('application/octet-stream');
    const listed = await inject({ url: '/blobs?prefix=proto/' });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items).toEqual([expect.objectContaining({ key: 'proto/constructor', content_type: 'application/octet-stream' })]);
  });

  it.each([
    ['image/png', 'png'],
    ['image/jpeg', 'jpg'],
    ['IMAGE/PNG; foo=bar', 'png'],
    ['text/plain; charset=utf-8', 'txt'],
    ['application/x-gzip', 'gz'],
    ['application/x-unknown', ''],
  ])('gives a blob put natively as %s the extension %j on /get/', async (type, extension) => {
    const key = `typed/${type.replace(/\W/g, '-')}`;
    await inject({ method: 'PUT', url: `/blobs/${key}`, headers: { 'content-type': type }, payload: Buffer.from('abc') });
    expect((await inject({ url: `/get/${key}` })).json()).toEqual({ key, extension, data: 'YWJj' });
  });

  it('answers a missing key with 404 in the standard error shape', async () => {
    const res = await inject({ url: '/get/no/such/key' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'blob no/such/key not found' } });
  });

  it.each([
    ['data that is not base64', { key: 'k', extension: 'png', data: 'not base64!' }, 'data'],
    ['base64 with a partial group of one character', { key: 'k', extension: 'png', data: 'YWJjY' }, 'data'],
    ['base64 with padding in the middle', { key: 'k', extension: 'png', data: 'YQ==YQ==' }, 'data'],
    ['base64 mixing the standard and url-safe alphabets', { key: 'k', extension: 'png', data: 'ab+_' }, 'data'],
    ['a missing key', { extension: 'png', data: '' }, 'key'],
    ['an empty key', { key: '', extension: 'png', data: '' }, 'key'],
    ['a key with a ".." segment', { key: 'a/../b', extension: 'png', data: '' }, 'key'],
    ['a key with a control character', { key: 'a\u0001', extension: 'png', data: '' }, 'key'],
    ['a key of 1,025 bytes', { key: 'x'.repeat(1025), extension: 'png', data: '' }, 'key'],
    ['a missing extension', { key: 'k', data: '' }, 'extension'],
    ['an extension with a slash', { key: 'k', extension: 'a/b', data: '' }, 'extension'],
    ['an extension of a dot alone', { key: 'k', extension: '.', data: '' }, 'extension'],
    ['an extension ending in a dot', { key: 'k', extension: 'png.', data: '' }, 'extension'],
    ['an extension with an empty part', { key: 'k', extension: 'tar..gz', data: '' }, 'extension'],
    ['a number as data', { key: 'k', extension: 'png', data: 12 }, 'data'],
    ['an unknown field', { key: 'k', extension: 'png', data: '', mode: 'x' }, 'mode'],
  ])('refuses %s with a 400 naming %s', async (_name, body, field) => {
    const res = await put(body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'validation_failed', field });
  });

  it('refuses a body that is not JSON', async () => {
    const res = await inject({ method: 'POST', url: '/put/', headers: { 'content-type': 'application/json' }, payload: '{"key": "k", ' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.field).toBe('body');
  });

  it('takes JSON up to 10 MB and answers 413 above', async () => {
    const data = randomBytes(7 * 1024 * 1024).toString('base64'); // 9.3 MB of JSON
    expect((await put({ key: 'big/ok', extension: 'bin', data })).statusCode).toBe(201);
    expect((await inject({ url: '/get/big/ok' })).json().data).toBe(data);
    const tooBig = await put({ key: 'big/no', extension: 'bin', data: 'A'.repeat(10 * 1024 * 1024) });
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('payload_too_large');
    expect((await inject({ url: '/get/big/no' })).statusCode).toBe(404);
  });
});
