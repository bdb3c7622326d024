// One suite every blob store driver passes (disk.test.ts, s3.test.ts run it): what a put, get,
// head, delete and list answer, byte for byte, so that modules never care which store they have.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import { BlobExistsError, type BlobStore } from './contract.js';
import { THREAD_MIN_BYTES } from './digest-thread.js';

export interface ConformanceTarget {
  store: BlobStore;
  cleanup(): Promise<void>;
  /**
   * false for a test server that writes an object in place as its bytes arrive (s3rver), so an
   * aborted put leaves a damaged object there and concurrent puts of one key can mix; S3 and
   * MinIO discard a PUT whose body did not arrive whole and replace objects atomically, as the
   * disk store does. The suite then skips those two checks.
   */
  atomicReplace?: boolean;
  /**
   * true for a test server that lists by walking its files, named key + suffix (s3rver), so key
   * "a" comes after "a b" and "a-c", and directory "a/" before both; S3 lists in UTF-8 byte order,
   * as the disk store does. The suite then leaves out "a" and "a/b".
   */
  listsByFileName?: boolean;
  /**
   * false for a test server that fails some of several concurrent PUTs of one key with a 500 page
   * (moto's server, threaded over one in-memory bucket); S3, MinIO and the disk store take them.
   */
  concurrentPutsOfOneKey?: boolean;
}

const md5Etag = (bytes: Buffer) => `"${createHash('md5').update(bytes).digest('hex')}"`;

function chunked(bytes: Buffer, chunkSize = 1000): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks);
}

/** A body that sends some bytes, then fails, as a client that disconnects does. */
function failingAfter(bytes: Buffer): Readable {
  return Readable.from(
    (async function* () {
      yield bytes;
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('the client went away');
    })(),
  );
}

async function expectAppError(promise: Promise<unknown>, code: string, field?: string) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe(code);
  if (field) expect((error as AppError).details.field).toBe(field);
}

export function blobStoreConformance(name: string, open: () => Promise<ConformanceTarget>) {
  describe(`blob store conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let store: BlobStore;
    beforeAll(async () => {
      target = await open();
      store = target.store;
    });
    afterAll(() => target?.cleanup());

    it('puts a buffer and reads back the same bytes, metadata and an MD5 etag', async () => {
      const bytes = randomBytes(5000);
      const meta = await store.put('conf/buffer', bytes, { contentType: 'image/png', metadata: { extension: 'png' } });
      expect(meta).toMatchObject({ key: 'conf/buffer', size: 5000, etag: md5Etag(bytes), contentType: 'image/png' });
      const head = await store.head('conf/buffer');
      expect(head).toMatchObject({ key: 'conf/buffer', size: 5000, etag: meta.etag, contentType: 'image/png', metadata: { extension: 'png' } });
      expect(Math.abs(head!.lastModified.getTime() - Date.now())).toBeLessThan(60_000);
      const got = await store.get('conf/buffer');
      expect(got!.meta).toMatchObject({ size: 5000, etag: meta.etag, contentType: 'image/png' });
      expect((await readAll(got!.body)).equals(bytes)).toBe(true);
    });

    it('streams a body of unknown length and one of announced length', async () => {
      const bytes = randomBytes(200_000);
      const unknown = await store.put('conf/stream-unknown', chunked(bytes));
      expect(unknown).toMatchObject({ size: bytes.length, etag: md5Etag(bytes), contentType: 'application/octet-stream' });
      const known = await store.put('conf/stream-known', chunked(bytes), { contentLength: bytes.length, contentType: 'text/plain; charset=utf-8' });
      expect(known).toMatchObject({ size: bytes.length, etag: md5Etag(bytes), contentType: 'text/plain; charset=utf-8' });
      for (const key of ['conf/stream-unknown', 'conf/stream-known']) {
        expect((await readAll((await store.get(key))!.body)).equals(bytes)).toBe(true);
      }
    });

    it('streams an object larger than a multipart part', async () => {
      const bytes = randomBytes(12 * 1024 * 1024);
      const meta = await store.put('conf/large', chunked(bytes, 64 * 1024));
      expect(meta.size).toBe(bytes.length);
      const got = await store.get('conf/large');
      expect(got!.meta.size).toBe(bytes.length);
      expect((await readAll(got!.body)).equals(bytes)).toBe(true);
      expect(await store.delete('conf/large')).toBe(true);
    });

    it('refuses a body that is shorter or longer than announced, and keeps the old object', async () => {
      const old = await store.put('conf/length', Buffer.from('old'));
      await expectAppError(store.put('conf/length', chunked(randomBytes(100)), { contentLength: 101 }), 'validation_failed', 'content-length');
      await expectAppError(store.put('conf/length', chunked(randomBytes(100)), { contentLength: 99 }), 'validation_failed', 'content-length');
      expect((await store.head('conf/length'))!.etag).toBe(old.etag);
    });

    it('keeps nothing of a body that fails midway, and keeps the old object', async () => {
      await expect(store.put('conf/failing-new', failingAfter(randomBytes(10_000)))).rejects.toThrow();
      expect(await store.head('conf/failing-new')).toBeNull();
      if (target.atomicReplace === false) return;
      const old = await store.put('conf/failing-old', Buffer.from('still here'));
      await expect(store.put('conf/failing-old', failingAfter(randomBytes(10_000)), { contentLength: 20_000 })).rejects.toThrow();
      const got = await store.get('conf/failing-old');
      expect(got!.meta.etag).toBe(old.etag);
      expect((await readAll(got!.body)).toString()).toBe('still here');
    });

    it('gives up a put when its signal aborts, before or during the transfer', async () => {
      await expect(store.put('conf/aborted-before', Buffer.from('x'), { signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
      expect(await store.head('conf/aborted-before')).toBeNull();
      const controller = new AbortController();
      const slow = Readable.from(
        (async function* () {
          yield randomBytes(1000);
          await new Promise((resolve) => setTimeout(resolve, 300));
          yield randomBytes(1000);
        })(),
      );
      setTimeout(() => controller.abort(new Error('deadline')), 50);
      await expect(store.put('conf/aborted-during', slow, { contentLength: 2000, signal: controller.signal })).rejects.toThrow();
      if (target.atomicReplace !== false) expect(await store.head('conf/aborted-during')).toBeNull();
    });

    it('stores an empty object', async () => {
      const meta = await store.put('conf/empty', Buffer.alloc(0));
      expect(meta.size).toBe(0);
      const got = await store.get('conf/empty');
      expect(got!.meta.size).toBe(0);
      expect((await readAll(got!.body)).length).toBe(0);
    });

    it('overwrites: the new bytes and etag replace the old ones', async () => {
      const first = await store.put('conf/overwrite', Buffer.from('first version'));
      const second = await store.put('conf/overwrite', Buffer.from('second'), { contentType: 'text/plain' });
      expect(second.etag).not.toBe(first.etag);
      const got = await store.get('conf/overwrite');
      expect(got!.meta).toMatchObject({ size: 6, etag: second.etag, contentType: 'text/plain' });
      expect((await readAll(got!.body)).toString()).toBe('second');
    });

    it('answers null, null, false for a key that does not exist', async () => {
      expect(await store.get('conf/missing')).toBeNull();
      expect(await store.head('conf/missing')).toBeNull();
      expect(await store.delete('conf/missing')).toBe(false);
    });

    it('deletes', async () => {
      await store.put('conf/deleted', Buffer.from('x'));
      expect(await store.delete('conf/deleted')).toBe(true);
      expect(await store.head('conf/deleted')).toBeNull();
      expect(await store.get('conf/deleted')).toBeNull();
      expect(await store.delete('conf/deleted')).toBe(false);
    });

    it('reads byte ranges: inclusive, the end clipped to the object, a start past the end refused', async () => {
      const bytes = Buffer.from('0123456789');
      await store.put('conf/range', bytes);
      const middle = await store.get('conf/range', { start: 2, end: 5 });
      expect(middle!.meta.size).toBe(10);
      expect((await readAll(middle!.body)).toString()).toBe('2345');
      const tail = await store.get('conf/range', { start: 7, end: 1000 });
      expect((await readAll(tail!.body)).toString()).toBe('789');
      const first = await store.get('conf/range', { start: 0, end: 0 });
      expect((await readAll(first!.body)).toString()).toBe('0');
      const last = await store.get('conf/range', { start: 9, end: 9 });
      expect((await readAll(last!.body)).toString()).toBe('9');
      await expectAppError(store.get('conf/range', { start: 10, end: 20 }), 'range_not_satisfiable');
      expect(await store.get('conf/range-missing', { start: 0, end: 1 })).toBeNull();
    });

    it('takes any key the rules allow: unicode, spaces, slashes, 1,024 bytes', async () => {
      // 1,024 bytes in segments of 200: s3rver keeps a key as a file path, and file names have a limit S3 keys do not.
      let longest = 'conf/keys/';
      while (longest.length + 200 < 1024) longest += 'x'.repeat(199) + '/';
      longest += 'x'.repeat(1024 - longest.length);
      const keys = ['conf/keys/héllo wörld', 'conf/keys/日本語/ファイル.txt', 'conf/keys/emoji 😀', longest, "conf/keys/sym!@#$%^&*()+=[]{};:'\",<>?\\|`~"];
      for (const key of keys) {
        const bytes = Buffer.from(key);
        await store.put(key, bytes);
        const got = await store.get(key);
        expect(got!.meta.key).toBe(key);
        expect((await readAll(got!.body)).equals(bytes)).toBe(true);
      }
    });

    it('refuses keys that break the rules, naming the key', async () => {
      const bad = ['', '/lead', 'trail/', 'a//b', '.', '..', 'a/../b', 'a/./b', 'ctl\u0000', 'ctl\n', 'del\u007f', 'c1\u0085', 'x'.repeat(1025), 'é'.repeat(513), 'lone\ud800'];
      for (const key of bad) {
        await expectAppError(store.put(key, Buffer.from('x')), 'validation_failed', 'key');
        await expectAppError(store.get(key), 'validation_failed', 'key');
        await expectAppError(store.head(key), 'validation_failed', 'key');
        await expectAppError(store.delete(key), 'validation_failed', 'key');
      }
    });

    it('lists in byte order of the keys, with prefix, limit and cursor', async () => {
      const allKeys = ['list/a', 'list/a/b', 'list/a-c', 'list/b', 'list/é', 'list/z', 'list/\uffff', 'list/😀', 'list/A', 'list/a b'];
      const keys = target.listsByFileName ? allKeys.filter((key) => key !== 'list/a' && key !== 'list/a/b') : allKeys;
      for (const key of keys) await store.put(key, Buffer.from(key), { contentType: 'text/plain' });
      const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

      const all = await store.list({ prefix: 'list/', limit: 100 });
      expect(all.items.map((item) => item.key)).toEqual(expected);
      expect(all.nextCursor).toBeNull();
      expect(all.items[0]).toMatchObject({ size: Buffer.byteLength(expected[0]), contentType: 'text/plain', etag: md5Etag(Buffer.from(expected[0])) });
      expect(all.items[0].lastModified).toBeInstanceOf(Date);

      const paged: string[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 20; page++) {
        const result = await store.list({ prefix: 'list/', limit: 3, cursor });
        expect(result.items.length).toBeLessThanOrEqual(3);
        paged.push(...result.items.map((item) => item.key));
        if (!result.nextCursor) break;
        cursor = result.nextCursor;
      }
      expect(paged).toEqual(expected);

      expect((await store.list({ prefix: 'list/a', limit: 100 })).items.map((item) => item.key)).toEqual(expected.filter((key) => key.startsWith('list/a')));
      expect((await store.list({ prefix: 'list/a/', limit: 100 })).items.map((item) => item.key)).toEqual(keys.filter((key) => key.startsWith('list/a/')));
      expect(await store.list({ prefix: 'list/none', limit: 10 })).toEqual({ items: [], nextCursor: null });
      expect((await store.list({ prefix: 'list/', limit: 100, cursor: 'list/b' })).items.map((item) => item.key)).toEqual(expected.filter((key) => Buffer.compare(Buffer.from(key), Buffer.from('list/b')) > 0));
      const exact = await store.list({ prefix: 'list/', limit: expected.length });
      expect(exact.items.length).toBe(expected.length);
      expect(exact.nextCursor).toBeNull();
    });

    it('lists without a prefix, and refuses a limit out of range', async () => {
      const page = await store.list({ limit: 2 });
      expect(page.items.length).toBe(2);
      expect(page.nextCursor).toBe(page.items[1].key);
      await expectAppError(store.list({ limit: 0 }), 'validation_failed', 'limit');
      await expectAppError(store.list({ limit: 1001 }), 'validation_failed', 'limit');
    });

    it('keeps concurrent puts of one key whole: the last one wins, never a mix', async () => {
      if (target.atomicReplace === false || target.concurrentPutsOfOneKey === false) return;
      const versions = Array.from({ length: 6 }, () => randomBytes(64 * 1024));
      await Promise.all(versions.map((bytes) => store.put('conf/race', chunked(bytes, 4096))));
      const got = await store.get('conf/race');
      const bytes = await readAll(got!.body);
      expect(versions.some((version) => version.equals(bytes))).toBe(true);
      expect(got!.meta.etag).toBe(md5Etag(bytes));
    });

    it('creates only where nothing is when the store has atomic creates (one of 20 racing creates wins, whole), and refuses createOnly when it has not', async () => {
      if (!(await store.createsAtomically())) {
        await expect(store.put('conf/create-only', Buffer.from('x'), { createOnly: true })).rejects.toThrow(/createOnly/);
        expect(await store.head('conf/create-only')).toBeNull();
        return;
      }
      const versions = Array.from({ length: 20 }, (_, i) => Buffer.alloc(32 * 1024 + i, i));
      const outcomes = await Promise.allSettled(versions.map((bytes) => store.put('conf/create-only', chunked(bytes, 4096), { createOnly: true })));
      const won = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(BlobExistsError);
      const got = await store.get('conf/create-only');
      expect((await readAll(got!.body)).equals(versions[won[0]])).toBe(true);
      // a create over an existing key stores nothing; a plain put still replaces it; after a delete a create creates
      await expect(store.put('conf/create-only', Buffer.from('late'), { createOnly: true })).rejects.toBeInstanceOf(BlobExistsError);
      // however the body comes: streamed with its length, or longer than a part (S3: multipart, the condition on its completion)
      const late = Buffer.alloc(6 * 1024 * 1024, 'l');
      await expect(store.put('conf/create-only', chunked(late.subarray(0, 4096), 1024), { createOnly: true, contentLength: 4096 })).rejects.toBeInstanceOf(BlobExistsError);
      await expect(store.put('conf/create-only', chunked(late, 256 * 1024), { createOnly: true })).rejects.toBeInstanceOf(BlobExistsError);
      expect((await readAll((await store.get('conf/create-only'))!.body)).equals(versions[won[0]])).toBe(true);
      expect((await store.put('conf/create-only-large', chunked(late, 256 * 1024), { createOnly: true })).size).toBe(late.length);
      expect(await store.delete('conf/create-only-large')).toBe(true);
      await store.put('conf/create-only', Buffer.from('plain'));
      expect(await store.delete('conf/create-only')).toBe(true);
      expect((await store.put('conf/create-only', Buffer.from('again'), { createOnly: true })).size).toBe(5);
    });

    it('keeps the sha-256 of every put, however the body came, and gives it back with the blob', async () => {
      const bytes = randomBytes(300_000);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const bodies = { buffer: () => bytes, announced: () => chunked(bytes, 7000), unannounced: () => chunked(bytes, 7000) };
      for (const [name, body] of Object.entries(bodies)) {
        const key = `conf/sha/${name}`;
        const meta = await store.put(key, body(), { contentLength: name === 'unannounced' ? undefined : bytes.length, metadata: { extension: 'bin' } });
        expect(meta.sha256, name).toBe(sha);
        expect((await store.head(key))!, name).toMatchObject({ sha256: sha, metadata: { extension: 'bin' } });
        const got = await store.get(key);
        expect(got!.meta.sha256).toBe(sha);
        expect((await readAll(got!.body)).equals(bytes)).toBe(true);
      }
      expect((await store.list({ prefix: 'conf/sha/', limit: 10 })).items.map((item) => item.sha256)).toEqual([sha, sha, sha]);
    });

    it('checks the digests a put is given as its bytes arrive: a mismatch names the header, stores nothing and keeps the old object', async () => {
      const old = randomBytes(40_000);
      await store.put('conf/digest', old);
      const bytes = randomBytes(40_000);
      const sha = createHash('sha256').update(bytes).digest();
      const md5 = createHash('md5').update(bytes).digest();
      const wrongSha = [{ algorithm: 'sha256' as const, expected: createHash('sha256').update(old).digest(), header: 'repr-digest' }];
      const wrongMd5 = [{ algorithm: 'md5' as const, expected: createHash('md5').update(old).digest(), header: 'content-md5' }];
      // past the size whose digests are computed on the digest thread (digest-thread.ts)
      const large = randomBytes(THREAD_MIN_BYTES + 1);
      for (const [digests, header] of [[wrongSha, 'repr-digest'], [wrongMd5, 'content-md5']] as const) {
        await expectAppError(store.put('conf/digest', bytes, { digests: [...digests] }), 'validation_failed', header);
        await expectAppError(store.put('conf/digest', large, { digests: [...digests] }), 'validation_failed', header);
        await expectAppError(store.put('conf/digest', chunked(bytes), { contentLength: bytes.length, digests: [...digests] }), 'validation_failed', header);
        await expectAppError(store.put('conf/digest', chunked(bytes), { digests: [...digests] }), 'validation_failed', header);
        if (target.atomicReplace === false) continue; // s3rver may keep what reached it of a cut PUT
        const kept = await store.get('conf/digest');
        expect((await readAll(kept!.body)).equals(old), header).toBe(true);
      }
      const right = [
        { algorithm: 'sha256' as const, expected: sha, header: 'x-amz-checksum-sha256' },
        { algorithm: 'md5' as const, expected: md5, header: 'content-md5' },
      ];
      const meta = await store.put('conf/digest', chunked(bytes), { contentLength: bytes.length, digests: right });
      expect(meta.sha256).toBe(sha.toString('hex'));
      expect((await store.head('conf/digest'))!.etag).toBe(md5Etag(bytes));
      const largeRight = [
        { algorithm: 'sha256' as const, expected: createHash('sha256').update(large).digest(), header: 'x-amz-checksum-sha256' },
        { algorithm: 'md5' as const, expected: createHash('md5').update(large).digest(), header: 'content-md5' },
      ];
      expect((await store.put('conf/digest', large, { digests: largeRight })).sha256).toBe(largeRight[0].expected.toString('hex'));
      expect((await store.head('conf/digest'))!.etag).toBe(md5Etag(large));
    });

    it('keeps the expiry a put is given (serving the blob is the module\'s call) and lists it', async () => {
      const expiresAt = new Date(Date.now() + 3_600_000);
      await store.put('conf/expiry', Buffer.from('soon gone'), { expiresAt, metadata: { extension: 'txt' } });
      const head = await store.head('conf/expiry');
      expect(head!.expiresAt!.getTime()).toBe(expiresAt.getTime());
      expect(head!.metadata).toEqual({ extension: 'txt' });
      expect((await store.list({ prefix: 'conf/expiry', limit: 1 })).items[0].expiresAt!.getTime()).toBe(expiresAt.getTime());
      await store.put('conf/expiry', Buffer.from('for good'));
      expect((await store.head('conf/expiry'))!.expiresAt).toBeUndefined();
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });
  });
}
