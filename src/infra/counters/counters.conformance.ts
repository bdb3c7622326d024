// The behaviour every counters driver must have. Each driver's test file runs this suite against
// a real store; `open` gives another instance on the same store (another process, or a restart).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bucketsConformance, bucketsExportConformance } from './buckets.conformance.js';
import { KEY_PREFIX_LENGTH, MAX_KEY_LENGTH, type Counters } from './contract.js';

export interface CountersHarness {
  /** a new driver instance on the shared store */
  open(): Promise<Counters>;
  /** closes every instance opened and removes the store */
  cleanup(): Promise<void>;
}

/** Code point order, as SQL's binary collations and Redis compare UTF-8 bytes. */
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};

const times = (counters: Counters, key: string, n: number) => {
  for (let i = 0; i < n; i++) counters.increment(key);
};

export function countersConformance(makeHarness: () => Promise<CountersHarness>): void {
  let harness: CountersHarness;
  let counters: Counters;

  beforeAll(async () => {
    harness = await makeHarness();
    counters = await harness.open();
  });
  afterAll(() => harness.cleanup());

  const fresh = async () => {
    await counters.reset();
    return counters;
  };

  it('counts increments, most counted first, and sees its own buffered increments at once', async () => {
    const c = await fresh();
    times(c, '/api/one/', 3);
    times(c, '/api/two/', 1);
    times(c, '/api/three/', 2);
    const page = await c.top({ limit: 10, offset: 0 });
    expect(page).toEqual({
      total: 6,
      unique: 3,
      entries: [
        { key: '/api/one/', count: 3 },
        { key: '/api/three/', count: 2 },
        { key: '/api/two/', count: 1 },
      ],
    });
  });

  it('orders ties by key ascending, in code point order', async () => {
    const c = await fresh();
    const keys = ['/b', '/a', '/B', '/é', '/~', '/a/b', '/\uFFFD', '/\u{1F600}', '/%41', '/A'];
    for (const key of keys) times(c, key, 2);
    times(c, '/z', 5);
    const page = await c.top({ limit: 100, offset: 0 });
    expect(page.entries.map((e) => e.key)).toEqual(['/z', ...[...keys].sort(byCodePoint)]);
    expect(page.unique).toBe(keys.length + 1);
  });

  it('pages through the order with limit and offset', async () => {
    const c = await fresh();
    const expected: string[] = [];
    for (let i = 0; i < 25; i++) {
      const key = `/api/k${String(i).padStart(2, '0')}/`;
      times(c, key, 1 + (i % 4));
      expected.push(key);
    }
    expected.sort((a, b) => (counts(b) - counts(a)) || byCodePoint(a, b));
    function counts(key: string) {
      return 1 + (Number(key.slice(6, 8)) % 4);
    }
    const pages = [];
    for (let offset = 0; offset < 30; offset += 10) pages.push(await c.top({ limit: 10, offset }));
    expect(pages.map((p) => p.entries.length)).toEqual([10, 10, 5]);
    expect(pages.flatMap((p) => p.entries.map((e) => e.key))).toEqual(expected);
    expect(pages.flatMap((p) => p.entries.map((e) => e.count))).toEqual(expected.map(counts));
    const beyond = await c.top({ limit: 10, offset: 100 });
    expect(beyond.entries).toEqual([]);
    expect(beyond.unique).toBe(25);
    expect(beyond.total).toBe(expected.reduce((sum, key) => sum + counts(key), 0));
  });

  it('keeps total and unique right across many writes of the same keys', async () => {
    const c = await fresh();
    for (let round = 0; round < 5; round++) {
      times(c, '/same', 3);
      times(c, `/new/${round}`, 1);
      await c.flush();
    }
    const page = await c.top({ limit: 10, offset: 0 });
    expect(page.total).toBe(20);
    expect(page.unique).toBe(6);
    expect(page.entries[0]).toEqual({ key: '/same', count: 15 });
  });

  it('writes many distinct keys in bounded batches without losing one', async () => {
    const c = await fresh();
    const n = 12_000;
    for (let i = 0; i < n; i++) c.increment(`/api/many/${i}/`);
    times(c, '/api/many/7/', 2);
    const page = await c.top({ limit: 2, offset: 0 });
    expect(page.total).toBe(n + 2);
    expect(page.unique).toBe(n);
    expect(page.entries).toEqual([
      { key: '/api/many/7/', count: 3 },
      { key: '/api/many/0/', count: 1 },
    ]);
  });

  it('loses no increment made while a write is in flight', async () => {
    const c = await fresh();
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 2_000; i++) {
      c.increment(`/k/${i % 7}`);
      if (i % 100 === 0) flushes.push(c.flush());
      if (i % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(flushes);
    const page = await c.top({ limit: 10, offset: 0 });
    expect(page.total).toBe(2_000);
    expect(page.entries.reduce((sum, e) => sum + e.count, 0)).toBe(2_000);
  });

  it('bounds very long keys, yet counts distinct long keys apart', async () => {
    const c = await fresh();
    const base = '/api/' + 'x'.repeat(5_000);
    times(c, base + 'a', 2);
    times(c, base + 'b', 1);
    times(c, '/api/' + 'y'.repeat(MAX_KEY_LENGTH - 5), 1);
    const page = await c.top({ limit: 10, offset: 0 });
    expect(page.unique).toBe(3);
    const [a, b] = page.entries.filter((e) => e.key.startsWith('/api/x'));
    expect([a.count, b.count].sort()).toEqual([1, 2]);
    for (const entry of [a, b]) {
      expect(entry.key.length).toBeLessThanOrEqual(MAX_KEY_LENGTH);
      expect(entry.key.slice(0, KEY_PREFIX_LENGTH)).toBe(base.slice(0, KEY_PREFIX_LENGTH));
      expect(entry.key).toMatch(/…[0-9a-f]{16}$/);
    }
    // a key of exactly the limit is kept whole
    expect(page.entries.some((e) => e.key === '/api/' + 'y'.repeat(MAX_KEY_LENGTH - 5))).toBe(true);
  });

  it('resets every count, buffered increments included', async () => {
    const c = await fresh();
    times(c, '/before', 3);
    await c.flush();
    times(c, '/buffered', 2);
    await c.reset();
    expect(await c.top({ limit: 10, offset: 0 })).toEqual({ total: 0, unique: 0, entries: [] });
    times(c, '/after', 1);
    expect(await c.top({ limit: 10, offset: 0 })).toEqual({ total: 1, unique: 1, entries: [{ key: '/after', count: 1 }] });
  });

  it('shares counts between instances on one store, visible to the other within 100 ms', async () => {
    const c = await fresh();
    const other = await harness.open();
    try {
      times(c, '/shared', 2);
      times(other, '/shared', 3);
      const started = Date.now();
      let seen = 0;
      while (Date.now() - started < 100) {
        // reads of `c` flush `c`'s own increments; `other`'s must arrive by its own timer
        const page = await c.top({ limit: 1, offset: 0 });
        seen = page.entries[0]?.count ?? 0;
        if (seen === 5) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(seen).toBe(5);
      expect((await other.top({ limit: 1, offset: 0 })).entries).toEqual([{ key: '/shared', count: 5 }]);
    } finally {
      await other.close();
    }
  });

  it('writes buffered increments on close: a new instance finds them', async () => {
    const c = await fresh();
    const first = await harness.open();
    times(first, '/kept', 4);
    await first.close();
    const second = await harness.open();
    expect((await second.top({ limit: 10, offset: 0 })).entries).toEqual([{ key: '/kept', count: 4 }]);
    expect((await c.top({ limit: 10, offset: 0 })).total).toBe(4);
    await second.close();
  });

  it('answers ping when the store is up', async () => {
    await expect(counters.ping()).resolves.toBeUndefined();
  });

  bucketsConformance(fresh, () => harness.open());
  bucketsExportConformance(fresh);
}
