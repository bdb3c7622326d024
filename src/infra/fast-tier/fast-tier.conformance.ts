// The behaviour every fast tier of blobs write-behind must have. Each driver's test file runs this
// suite against a real store: SQL on SQLite and PostgreSQL (sql.test.ts), Redis with an
// append-only file (redis.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastTier, PendingEntry } from './contract.js';

const entry = (key: string, text: string, version = `v-${text}`): PendingEntry => ({
  key,
  version,
  bytes: Buffer.from(text),
  size: Buffer.byteLength(text),
  etag: `"${text}"`,
  contentType: 'text/plain',
  lastModified: 1_700_000_000_000,
});

export function fastTierConformance(name: string, open: () => Promise<{ tier: FastTier; close(): Promise<void> }>) {
  describe(`fast tier: ${name}`, () => {
    let tier: FastTier;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ tier, close } = await open());
    });
    afterAll(() => close?.());

    it('passes the persistence check on a store that keeps what it is given', async () => {
      await expect(tier.checkPersistence()).resolves.toBeUndefined();
    });

    it('keeps bytes and metadata exactly, binary included', async () => {
      const bytes = Buffer.from([0, 255, 1, 254, 0x80, 0xc3, 0x28]);
      await tier.put({ ...entry('bin/a', 'x'), bytes, size: bytes.length, metadata: { extension: 'png' } }, 0);
      const got = await tier.get('bin/a');
      expect(got!.bytes.equals(bytes)).toBe(true);
      expect(got).toMatchObject({ key: 'bin/a', version: 'v-x', size: 7, etag: '"x"', contentType: 'text/plain', lastModified: 1_700_000_000_000, metadata: { extension: 'png' } });
      expect(await tier.head('bin/a')).toEqual({ key: 'bin/a', version: 'v-x', size: 7, etag: '"x"', contentType: 'text/plain', lastModified: 1_700_000_000_000, metadata: { extension: 'png' } });
      expect(await tier.get('bin/none')).toBeNull();
      expect(await tier.head('bin/none')).toBeNull();
      await tier.put(entry('bin/empty', ''), 0);
      expect((await tier.get('bin/empty'))!.bytes.length).toBe(0);
    });

    it('lets one upload at a time hold a key, and finishes only the version it uploaded', async () => {
      const now = Date.now();
      await tier.put(entry('lease/a', 'one'), now + 60_000);
      expect(await tier.claim('lease/a', 'v-other', 't0', now + 1_000, now)).toEqual({ outcome: 'gone' });
      const first = await tier.claim('lease/a', 'v-one', 't1', now + 1_000, now);
      expect(first.outcome).toBe('claimed');
      expect(first.outcome === 'claimed' && first.entry.bytes.toString()).toBe('one');
      expect(await tier.claim('lease/a', 'v-one', 't2', now + 1_000, now)).toEqual({ outcome: 'busy' });
      expect(await tier.claim('lease/a', null, 't2', now + 1_000, now)).toEqual({ outcome: 'busy' });
      // A newer put while the upload is in flight keeps the lease: its own upload waits.
      await tier.put(entry('lease/a', 'two'), now + 60_000);
      expect(await tier.claim('lease/a', 'v-two', 't3', now + 1_000, now)).toEqual({ outcome: 'busy' });
      expect((await tier.get('lease/a'))!.bytes.toString()).toBe('two');
      await tier.finish('lease/a', 'v-one', 't1');
      // The entry is now the newer version, so finishing the older one only freed the lease.
      expect((await tier.head('lease/a'))!.version).toBe('v-two');
      const second = await tier.claim('lease/a', 'v-two', 't3', now + 1_000, now);
      expect(second.outcome).toBe('claimed');
      await tier.finish('lease/a', 'v-two', 'wrong-token');
      expect(await tier.head('lease/a')).not.toBeNull();
      await tier.finish('lease/a', 'v-two', 't3');
      expect(await tier.head('lease/a')).toBeNull();
      expect(await tier.claim('lease/a', null, 't4', now + 1_000, now)).toEqual({ outcome: 'gone' });
    });

    it('frees a lease when the upload fails, and lets an expired lease be taken over', async () => {
      const now = Date.now();
      await tier.put(entry('lease/b', 'b'), now);
      expect((await tier.claim('lease/b', null, 't1', now + 1_000, now)).outcome).toBe('claimed');
      await tier.release('lease/b', 'not-mine');
      expect((await tier.claim('lease/b', null, 't2', now + 1_000, now)).outcome).toBe('busy');
      await tier.release('lease/b', 't1');
      expect((await tier.claim('lease/b', null, 't2', now + 1_000, now)).outcome).toBe('claimed');
      // t2 died: once its lease has run out, another upload takes the key.
      expect((await tier.claim('lease/b', null, 't3', now + 5_000, now + 2_000)).outcome).toBe('claimed');
    });

    it('deletes an entry unless an upload holds it', async () => {
      const now = Date.now();
      await tier.put(entry('del/a', 'a'), now);
      expect(await tier.deleteIfFree('del/a', now)).toBe('deleted');
      expect(await tier.deleteIfFree('del/a', now)).toBe('none');
      await tier.put(entry('del/b', 'b'), now);
      await tier.claim('del/b', null, 't', now + 1_000, now);
      expect(await tier.deleteIfFree('del/b', now)).toBe('busy');
      expect(await tier.deleteIfFree('del/b', now + 2_000)).toBe('deleted');
      expect(await tier.list({ prefix: 'del/', limit: 10 })).toEqual([]);
    });

    it('lists in byte order under a prefix, after a cursor', async () => {
      const keys = ['ls/b', 'ls/a', 'ls/é', 'ls/Z', 'ls/a/b', 'ls/😀', 'ls/\uffff', 'lt/x'];
      for (const key of keys) await tier.put(entry(key, key), 0);
      const under = keys.filter((key) => key.startsWith('ls/')).sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      expect((await tier.list({ prefix: 'ls/', limit: 100 })).map((meta) => meta.key)).toEqual(under);
      expect((await tier.list({ prefix: 'ls/', limit: 2 })).map((meta) => meta.key)).toEqual(under.slice(0, 2));
      expect((await tier.list({ prefix: 'ls/', cursor: under[2], limit: 100 })).map((meta) => meta.key)).toEqual(under.slice(3));
      expect((await tier.list({ prefix: 'ls/😀', limit: 100 })).map((meta) => meta.key)).toEqual(['ls/😀']);
      expect((await tier.list({ prefix: 'ls/', cursor: 'a', limit: 100 })).length).toBe(under.length);
      expect((await tier.list({ prefix: '', cursor: 'ls/\uffff', limit: 100 })).map((meta) => meta.key)).toEqual(['ls/😀', 'lt/x']);
      const page = await tier.list({ prefix: 'ls/', limit: 1 });
      expect(page[0]).toEqual({ key: under[0], version: `v-${under[0]}`, size: Buffer.byteLength(under[0]), etag: `"${under[0]}"`, contentType: 'text/plain', lastModified: 1_700_000_000_000 });
    });

    it('hands each due entry to one sweeper, and none that an upload holds', async () => {
      const now = Date.now();
      await tier.put(entry('sweep/due', 'd'), now - 1);
      await tier.put(entry('sweep/later', 'l'), now + 60_000);
      await tier.put(entry('sweep/held', 'h'), now - 1);
      await tier.claim('sweep/held', null, 't', now + 60_000, now);
      const [first, second] = await Promise.all([tier.takeDueForSweep(now, now + 300_000, 100), tier.takeDueForSweep(now, now + 300_000, 100)]);
      const taken = [...first, ...second].filter((item) => item.key.startsWith('sweep/'));
      expect(taken).toEqual([{ key: 'sweep/due', version: 'v-d' }]);
      expect((await tier.takeDueForSweep(now, now + 300_000, 100)).filter((item) => item.key.startsWith('sweep/'))).toEqual([]);
      expect((await tier.takeDueForSweep(now + 300_001, now + 600_000, 100)).map((item) => item.key)).toContain('sweep/due');
    });
  });
}
