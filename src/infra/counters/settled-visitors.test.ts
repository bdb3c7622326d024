import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BUCKET_MS, coverRange } from './buckets.js';
import { estimate, registersOf } from './hyperloglog.js';
import { FOLD_DELAY_MS } from './ranked-windows.js';
import { SettledVisitorsCache, estimateWith, mergedOf, splitSettled } from './settled-visitors.js';

const HOUR = BUCKET_MS.hour;
const DAY = BUCKET_MS.day;
const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => createHash('sha256').update(`v${from + i}`).digest('hex'));
const rowsOf = (list: string[]) => [...registersOf(list)].map(([reg, rho]) => ({ reg, rho }));

describe('splitSettled', () => {
  it('keeps in the settled part the buckets that ended FOLD_DELAY_MS ago, and the rest open', () => {
    const now = Date.parse('2027-04-10T12:03:00Z'); // the hour 11:00 ended 3 minutes ago: not settled yet
    const spans = coverRange(now - 3 * DAY, now, true);
    const { settled, open, settledBuckets } = splitSettled(spans, now);
    const ends = settled.map((span) => span.to);
    expect(Math.max(...ends)).toBeLessThanOrEqual(now - FOLD_DELAY_MS);
    // every bucket is in one part: the parts' buckets add up to the cover's
    const buckets = (list: typeof spans) => list.reduce((n, span) => n + (span.to - span.from) / BUCKET_MS[span.unit], 0);
    expect(buckets(settled) + buckets(open)).toBe(buckets(spans));
    expect(settledBuckets).toBe(buckets(settled));
    // today is open (a day bucket under way), and so is nothing that ended before 11:58
    expect(open.every((span) => span.from + BUCKET_MS[span.unit] > now - FOLD_DELAY_MS)).toBe(true);
    expect(open.some((span) => span.unit === 'day' && span.from === Date.parse('2027-04-10T00:00:00Z'))).toBe(true);
    // a range that ended long ago is all settled
    expect(splitSettled(coverRange(now - 10 * DAY, now - 5 * DAY - 3 * HOUR), now).open).toEqual([]);
  });
});

describe('estimateWith', () => {
  it('counts the settled registers with the open ones as the union of both', () => {
    const settled = ids(0, 5_000);
    const open = [...ids(4_000, 3_000), ...ids(10_000, 10)];
    const union = registersOf([...settled, ...open]);
    let inverse = 0;
    for (const rank of union.values()) inverse += 2 ** -rank;
    expect(estimateWith(mergedOf(rowsOf(settled)), rowsOf(open))).toBe(estimate(union.size, inverse));
    expect(estimateWith(mergedOf([]), rowsOf(open))).toBe(estimateWith(mergedOf(rowsOf(open)), []));
    expect(estimateWith(mergedOf([]), [])).toBe(0);
  });
});

describe('SettledVisitorsCache', () => {
  it('answers an entry for an hour, the most recently used kept when full', () => {
    const cache = new SettledVisitorsCache();
    const merged = mergedOf(rowsOf(ids(0, 3)));
    cache.set('a', '/k', merged, 0);
    expect(cache.get('a', '/k', HOUR - 1)).toBe(merged);
    expect(cache.get('a', '/k', HOUR)).toBeUndefined();
    expect(cache.get('b', '/k', 0)).toBeUndefined();
    for (let i = 0; i < 1_024; i++) cache.set('a', `/p/${i}`, merged, 0);
    cache.get('a', '/p/0', 1); // used: now the newest
    cache.set('a', '/new', merged, 1);
    expect(cache.get('a', '/p/0', 2)).toBe(merged);
    expect(cache.get('a', '/p/1', 2)).toBeUndefined();
  });
});
