import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../infra/blobstore/contract.js';
import { DiskBlobStore } from '../../infra/blobstore/disk.js';
import { ImagePacks, imageRange } from './image-packs.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('image packs (disk blob store)', () => {
  let dir: string;
  let blobs: DiskBlobStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'workyard-image-packs-'));
    blobs = new DiskBlobStore({ dir, timeoutMs: 5_000 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const read = async (store: BlobStore, at: { blobKey: string; offset: number }, size: number) =>
    Buffer.concat(await (await store.get(at.blobKey, imageRange({ blob_offset: at.offset, size })))!.body.toArray());

  it('writes the images stored in one turn as one blob, each read back by its range', async () => {
    const packs = new ImagePacks({ blobs, putTimeoutMs: 5_000 });
    const images = Array.from({ length: 50 }, (_, i) => randomBytes(100 + i * 37));
    const placed = await Promise.all(images.map((bytes) => packs.store(sha256(bytes), bytes)));
    expect(new Set(placed.map((at) => at.blobKey)).size).toBe(1);
    for (const [i, at] of placed.entries()) expect((await read(blobs, at, images[i].length)).equals(images[i])).toBe(true);
    const listed = await blobs.list({ prefix: 'harvest/packs/', limit: 10 });
    expect(listed.items.map((item) => item.size)).toEqual([images.reduce((sum, bytes) => sum + bytes.length, 0)]);
  });

  it('closes a pack at its byte limit; an image larger than the limit is a pack alone', async () => {
    const packs = new ImagePacks({ blobs, putTimeoutMs: 5_000, maxPackBytes: 1_000 });
    const images = [randomBytes(400), randomBytes(400), randomBytes(400), randomBytes(2_500), randomBytes(10)];
    const placed = await Promise.all(images.map((bytes) => packs.store(sha256(bytes), bytes)));
    expect(placed.map((at) => at.offset)).toEqual([0, 400, 0, 0, 0]);
    expect(new Set(placed.map((at) => at.blobKey)).size).toBe(4);
    for (const [i, at] of placed.entries()) expect((await read(blobs, at, images[i].length)).equals(images[i])).toBe(true);
  });

  it('stores bytes it has just stored once: a second call gets the same place', async () => {
    const packs = new ImagePacks({ blobs, putTimeoutMs: 5_000 });
    const bytes = randomBytes(300);
    const [first, together] = await Promise.all([packs.store(sha256(bytes), bytes), packs.store(sha256(bytes), bytes)]);
    const later = await packs.store(sha256(bytes), bytes);
    expect(together).toEqual(first);
    expect(later).toEqual(first);
    expect((await blobs.list({ prefix: 'harvest/packs/', limit: 10 })).items.map((item) => item.size)).toEqual([300]);
  });

  it('fails every image of a pack whose put fails, and stores them again on the next call', async () => {
    const packs = new ImagePacks({ blobs, putTimeoutMs: 5_000 });
    const images = [randomBytes(200), randomBytes(200)];
    // the store's directory of temporary files gone: the put fails, as on a failing disk
    fs.rmSync(path.join(dir, 'tmp'), { recursive: true });
    const outcomes = await Promise.allSettled(images.map((bytes) => packs.store(sha256(bytes), bytes)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    fs.mkdirSync(path.join(dir, 'tmp'));
    const placed = await Promise.all(images.map((bytes) => packs.store(sha256(bytes), bytes)));
    for (const [i, at] of placed.entries()) expect((await read(blobs, at, images[i].length)).equals(images[i])).toBe(true);
  });

  it('reads an image stored alone (before packs) whole', () => {
    expect(imageRange({ blob_offset: null, size: 10 })).toBeUndefined();
    expect(imageRange({ blob_offset: '20', size: '10' })).toEqual({ start: 20, end: 29 });
  });
});
