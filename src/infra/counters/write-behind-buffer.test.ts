import { describe, expect, it } from 'vitest';
import { WriteBehindBuffer, writeInChunks } from './write-behind-buffer.js';

/** A store that keeps counts in a map and can be told to fail after writing some keys. */
function flakyStore() {
  const counts = new Map<string, number>();
  const store = {
    counts,
    failAfterKeys: Infinity,
    writes: 0,
    async write(batch: Map<string, number>) {
      store.writes++;
      let written = 0;
      for (const [key, count] of batch) {
        if (written === store.failAfterKeys) throw new Error('store went away');
        counts.set(key, (counts.get(key) ?? 0) + count);
        batch.delete(key);
        written++;
      }
    },
  };
  return store;
}

describe('write-behind buffer', () => {
  it('gathers increments and writes them in one batch after the delay', async () => {
    const store = flakyStore();
    const buffer = new WriteBehindBuffer({ flushDelayMs: 20, write: store.write });
    for (let i = 0; i < 100; i++) buffer.add(`/k${i % 3}`);
    expect(store.writes).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(store.writes).toBe(1);
    expect(Object.fromEntries(store.counts)).toEqual({ '/k0': 34, '/k1': 33, '/k2': 33 });
  });

  it('keeps what a failed write did not write, and never writes a key twice', async () => {
    const store = flakyStore();
    const buffer = new WriteBehindBuffer({ flushDelayMs: 10_000, write: store.write });
    for (const key of ['/a', '/b', '/c', '/d']) buffer.add(key);
    store.failAfterKeys = 2;
    await expect(buffer.flush()).rejects.toThrow('store went away');
    expect(buffer.pendingKeys).toBe(2);
    buffer.add('/a');
    buffer.add('/d');
    store.failAfterKeys = Infinity;
    await buffer.flush();
    expect(Object.fromEntries(store.counts)).toEqual({ '/a': 2, '/b': 1, '/c': 1, '/d': 2 });
    await buffer.close();
  });

  it('retries a failed write by itself', async () => {
    const store = flakyStore();
    const buffer = new WriteBehindBuffer({ flushDelayMs: 5, write: store.write });
    store.failAfterKeys = 0;
    buffer.add('/retry');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(store.writes).toBeGreaterThanOrEqual(1);
    store.failAfterKeys = Infinity;
    await expect.poll(() => store.counts.get('/retry'), { timeout: 2_000, interval: 10 }).toBe(1);
    await buffer.close();
  });

  it('caps distinct buffered keys, so an outage cannot exhaust memory, and keeps counting known ones', async () => {
    const store = flakyStore();
    const warnings: object[] = [];
    const log = { warn: (obj: object) => warnings.push(obj), error: () => {} };
    const buffer = new WriteBehindBuffer({ flushDelayMs: 10_000, write: store.write, maxPendingKeys: 3, log });
    for (const key of ['/a', '/b', '/c', '/d', '/e', '/a']) buffer.add(key);
    expect(buffer.pendingKeys).toBe(3);
    await buffer.flush();
    expect(Object.fromEntries(store.counts)).toEqual({ '/a': 2, '/b': 1, '/c': 1 });
    expect(warnings).toEqual([expect.objectContaining({ dropped: 2 })]);
  });

  it('writes a large batch at once instead of waiting for the delay', async () => {
    const store = flakyStore();
    const buffer = new WriteBehindBuffer({ flushDelayMs: 10_000, write: store.write, flushAtKeys: 50 });
    for (let i = 0; i < 50; i++) buffer.add(`/k${i}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.counts.size).toBe(50);
    await buffer.close();
  });

  it('runs a reset after the write in flight, so the reset is never undone by it', async () => {
    const counts = new Map<string, number>();
    let release!: () => void;
    const buffer = new WriteBehindBuffer({
      flushDelayMs: 10_000,
      async write(batch) {
        await new Promise<void>((resolve) => (release = resolve));
        for (const [key, count] of batch) counts.set(key, (counts.get(key) ?? 0) + count);
        batch.clear();
      },
    });
    buffer.add('/before-reset');
    const writing = buffer.flush();
    const reset = buffer.exclusive(async () => {
      buffer.clear();
      counts.clear();
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    await Promise.all([writing, reset]);
    expect(counts.size).toBe(0);
  });

  it('writes what is buffered on close', async () => {
    const store = flakyStore();
    const buffer = new WriteBehindBuffer({ flushDelayMs: 10_000, write: store.write });
    buffer.add('/on-close');
    await buffer.close();
    expect(store.counts.get('/on-close')).toBe(1);
  });
});

describe('writeInChunks', () => {
  it('writes at most chunkKeys keys at a time and, when a chunk fails, keeps it and the rest', async () => {
    const batch = new Map(Array.from({ length: 7 }, (_, i) => [`/k${i}`, i + 1] as [string, number]));
    const chunks: string[][] = [];
    const failing = writeInChunks(batch, 3, async (chunk) => {
      if (chunks.length === 2) throw new Error('store went away');
      chunks.push(chunk.map(([key]) => key));
    });
    await expect(failing).rejects.toThrow('store went away');
    expect(chunks).toEqual([
      ['/k0', '/k1', '/k2'],
      ['/k3', '/k4', '/k5'],
    ]);
    expect([...batch]).toEqual([['/k6', 7]]);
    await writeInChunks(batch, 3, async (chunk) => void chunks.push(chunk.map(([key]) => key)));
    expect(chunks[2]).toEqual(['/k6']);
    expect(batch.size).toBe(0);
  });
});
