import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { blobStoreConformance } from './blobstore.conformance.js';
import { DiskBlobStore } from './disk.js';
import { hexToKey, keyToHex, objectPath } from './disk-layout.js';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-disk-blobs-'));

blobStoreConformance('disk', async () => {
  const dir = tempDir();
  return { store: new DiskBlobStore({ dir, timeoutMs: 2_000 }), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

describe('disk blob store layout', () => {
  it('maps every key to a hex path inside the objects directory, whatever the key holds', () => {
    const root = '/data/blobs/objects';
    for (const key of ['../../etc/passwd', 'a/../../b', '..\\..\\x', '/abs', '~/x', 'é/😀', 'x'.repeat(1024)]) {
      const file = objectPath(root, key);
      expect(path.resolve(file).startsWith(root + path.sep)).toBe(true);
      expect(path.relative(root, file).split(path.sep).every((part) => /^[0-9a-f]+(\.blob)?$/.test(part) && part.length <= 133)).toBe(true);
      expect(hexToKey(keyToHex(key))).toBe(key);
    }
  });

  it('writes nothing outside its directory and leaves no temporary files behind', async () => {
    const dir = tempDir();
    const store = new DiskBlobStore({ dir, timeoutMs: 2_000 });
    await store.put('a/b/c', Buffer.from('1'));
    await store.put('x'.repeat(1000), Buffer.from('2'));
    const files = filesUnder(dir);
    expect(files.length).toBe(2);
    expect(files.every((file) => file.startsWith(path.join(dir, 'objects') + path.sep))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual([]);
    expect(await store.delete('x'.repeat(1000))).toBe(true);
    // the directories a long key needed go away with it
    expect(fs.readdirSync(path.join(dir, 'objects')).length).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists keys that span several directory levels in order', async () => {
    const dir = tempDir();
    const store = new DiskBlobStore({ dir, timeoutMs: 2_000 });
    const long = 'k'.repeat(64);
    const keys = [long, long + 'a', long + '/b', long + long, long + long + 'z', 'k', 'l'];
    for (const key of keys) await store.put(key, Buffer.from(key));
    const expected = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((await store.list({ limit: 100 })).items.map((item) => item.key)).toEqual(expected);
    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 2, cursor });
      paged.push(...page.items.map((item) => item.key));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(paged).toEqual(expected);
    expect((await store.list({ prefix: long + long, limit: 100 })).items.map((item) => item.key)).toEqual([long + long, long + long + 'z']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads objects of every size around its whole-file read, with metadata short and long, whole and by range', async () => {
    const dir = tempDir();
    const store = new DiskBlobStore({ dir, timeoutMs: 2_000 });
    const read = async (body: Readable) => Buffer.concat(await body.toArray());
    // Metadata of quotes is escaped in the stored JSON: with a 1,000-byte key it makes the
    // metadata longer than the 4 KiB read from a large file's end, so it is read apart.
    const metadatas = [undefined, { note: '"'.repeat(2040) }];
    for (const [m, metadata] of metadatas.entries()) {
      const key = `${m}/`.padEnd(1000, 'k');
      const trailer = fs.statSync(objectPath(path.join(dir, 'objects'), (await store.put(key, Buffer.from('x'), { metadata })).key)).size - 1;
      // files just under, at and just over 16 KiB, one much larger, and an empty body
      for (const size of [0, 1, 16 * 1024 - trailer - 1, 16 * 1024 - trailer, 16 * 1024 - trailer + 1, 200_000]) {
        const bytes = Buffer.alloc(size);
        for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) & 0xff;
        await store.put(key, bytes, { metadata, contentType: 'application/x-test' });
        const got = (await store.get(key))!;
        expect(got.meta).toMatchObject({ key, size, contentType: 'application/x-test', ...(metadata ? { metadata: expect.objectContaining(metadata) } : {}) });
        expect((await read(got.body)).equals(bytes)).toBe(true);
        expect(await store.head(key)).toEqual(got.meta);
        if (size > 10) {
          const range = (await store.get(key, { start: 3, end: size - 5 }))!;
          expect((await read(range.body)).equals(bytes.subarray(3, size - 4))).toBe(true);
        }
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('removes temporary files of crashed puts at start, but not recent ones', () => {
    const dir = tempDir();
    new DiskBlobStore({ dir, timeoutMs: 2_000 });
    const stale = path.join(dir, 'tmp', 'stale');
    const recent = path.join(dir, 'tmp', 'recent');
    fs.writeFileSync(stale, 'x');
    fs.writeFileSync(recent, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    fs.utimesSync(stale, twoHoursAgo, twoHoursAgo);
    new DiskBlobStore({ dir, timeoutMs: 2_000 });
    expect(fs.readdirSync(path.join(dir, 'tmp'))).toEqual(['recent']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports the disk down when its directory cannot be written', async () => {
    const dir = tempDir();
    const store = new DiskBlobStore({ dir, timeoutMs: 2_000 });
    fs.rmSync(dir, { recursive: true, force: true });
    await expect(store.ping()).rejects.toMatchObject({ code: 'dependency_unavailable', details: { dependency: 'disk' } });
  });
});
