import { describe, expect, it } from 'vitest';
import { BUCKET_MS } from './buckets.js';
import type { CounterEntry } from './contract.js';
import { type RankedWindowReader, foldPlan, foldTarget, rankWindow, windowFor } from './ranked-windows.js';

const HOUR = BUCKET_MS.hour;
const byRank = (a: CounterEntry, b: CounterEntry) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** A seeded generator: the same data on every run. */
function random(seed: number) {
  return () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
}

function readerOf(window: Map<string, number>): RankedWindowReader & { read: () => number } {
  const ranked = [...window].map(([key, count]) => ({ key, count })).sort(byRank);
  let read = 0;
  return {
    page: async (offset, limit) => {
      const page = ranked.slice(offset, offset + limit);
      read += page.length;
      return page;
    },
    countsOf: async (keys) => new Map(keys.filter((key) => window.has(key)).map((key) => [key, window.get(key)!])),
    size: async () => ranked.length,
    read: () => read,
  };
}

describe('rankWindow', () => {
  it('gives the exact page of window + edges, ties by key, at any offset, reading only the head of the window', async () => {
    const next = random(7);
    const window = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) window.set(`/p/${i}`, 1 + Math.floor(next() ** 4 * 40));
    const edges = new Map<string, number>();
    for (let i = 0; i < 300; i++) edges.set(`/p/${Math.floor(next() * 6_000)}`, 1 + Math.floor(next() * 30)); // some not in the window
    const all = new Map(window);
    for (const [key, count] of edges) all.set(key, (all.get(key) ?? 0) + count);
    const expected = [...all].map(([key, count]) => ({ key, count })).sort(byRank);
    for (const [limit, offset] of [[10, 0], [100, 0], [7, 93], [50, 2_000], [100, 5_200]]) {
      const reader = readerOf(window);
      const page = await rankWindow(reader, edges, limit, offset, 1234);
      expect(page.entries).toEqual(expected.slice(offset, offset + limit));
      expect(page.unique).toBe(all.size);
      expect(page.total).toBe(1234);
      if (offset + limit <= 100) expect(reader.read()).toBeLessThan(window.size);
    }
  });
});

describe('rankWindow reads', () => {
  it('as few window entries as the page and the edges need: a first page of 100 with 3 edge keys reads 103, not a thousand', async () => {
    const window = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) window.set(`/p/${i}`, 10_000 - i);
    // two edge keys in the head of the window, one not in it
    const edges = new Map([['/p/3', 5], ['/p/50', 1], ['/new/', 2]]);
    const reader = readerOf(window);
    const page = await rankWindow(reader, edges, 100, 0, 0);
    // /p/3 (9,997 + 5) moves to the top; /p/50 (9,950 + 1) ties /p/49 and follows it by key
    expect(page.entries[0]).toEqual({ key: '/p/3', count: 10_002 });
    expect(page.entries.map((e) => e.key)).toEqual(['/p/3', ...Array.from({ length: 100 }, (_, i) => `/p/${i}`).filter((key) => key !== '/p/3')].slice(0, 100));
    expect(page.entries[50]).toEqual({ key: '/p/50', count: 9_951 });
    expect(reader.read()).toBe(103);
  });
});

describe('windowFor and foldPlan', () => {
  const now = Date.parse('2027-05-10T12:20:30Z');
  const t = foldTarget(now); // 11:00, 12:00 not yet (5 min delay)
  it('folds an hour 5 minutes after it closes', () => {
    expect(new Date(t).toISOString()).toBe('2027-05-10T12:00:00.000Z');
    expect(new Date(foldTarget(Date.parse('2027-05-10T12:04:00Z'))).toISOString()).toBe('2027-05-10T11:00:00.000Z');
  });
  it('serves -24h, -7d and -30d with the longest window that fits, even an hour late, and nothing else', () => {
    const marks = [22, 166, 718].map((hours) => ({ hours, foldedTo: t }));
    const last = (ms: number) => ({ from: now - ms, to: now });
    expect(windowFor(last(7 * 24 * HOUR), marks)?.hours).toBe(166);
    expect(windowFor(last(24 * HOUR), marks)?.hours).toBe(22);
    expect(windowFor(last(30 * 24 * HOUR), marks)?.hours).toBe(718);
    const late = marks.map((mark) => ({ ...mark, foldedTo: t - HOUR }));
    expect(windowFor(last(7 * 24 * HOUR), late)?.hours).toBe(166);
    // the edges are exactly the rest of the range (widened to minutes)
    const use = windowFor(last(7 * 24 * HOUR), marks)!;
    expect(use.edges).toEqual([
      { from: Date.parse('2027-05-03T12:20:00Z'), to: t - 166 * HOUR },
      { from: t, to: Date.parse('2027-05-10T12:21:00Z') },
    ]);
    // a range that does not end now, or is much longer than a window, is the buckets'
    expect(windowFor({ from: now - 7 * 24 * HOUR, to: now - 6 * HOUR }, marks)).toBeNull();
    expect(windowFor(last(10 * 24 * HOUR), marks)).toBeNull();
    expect(windowFor(last(7 * 24 * HOUR), [])).toBeNull();
  });
  it('builds a window it has not, folds the hours it lacks, rebuilds one further behind than its length', () => {
    expect(foldPlan(22, null, t)).toEqual({ build: true });
    expect(foldPlan(22, t, t)).toBeNull();
    expect(foldPlan(22, t - 3 * HOUR, t)).toEqual({ build: false, hours: [t - 3 * HOUR, t - 2 * HOUR, t - HOUR] });
    expect(foldPlan(22, t - 22 * HOUR, t)).toEqual({ build: true });
  });
});
