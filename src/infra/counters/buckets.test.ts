import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUCKET_MS, bucketStart, coverRange, startsOf } from './buckets.js';

const minute = BUCKET_MS.minute;
const t = (iso: string) => Date.parse(iso);

describe('coverRange', () => {
  it('covers a range crossing day and hour boundaries with days in the middle, hours then minutes at the edges', () => {
    expect(coverRange(t('2026-03-28T22:30:00Z'), t('2026-03-31T01:15:00Z'))).toEqual([
      { unit: 'minute', from: t('2026-03-28T22:30:00Z'), to: t('2026-03-28T23:00:00Z') },
      { unit: 'hour', from: t('2026-03-28T23:00:00Z'), to: t('2026-03-29T00:00:00Z') },
      { unit: 'day', from: t('2026-03-29T00:00:00Z'), to: t('2026-03-31T00:00:00Z') },
      { unit: 'hour', from: t('2026-03-31T00:00:00Z'), to: t('2026-03-31T01:00:00Z') },
      { unit: 'minute', from: t('2026-03-31T01:00:00Z'), to: t('2026-03-31T01:15:00Z') },
    ]);
  });

  it('reads a range that ends now from whole buckets past its end, when that takes fewer buckets', () => {
    // -7d at 14:30: today's day bucket instead of 14 hours and 30 minutes
    expect(coverRange(t('2026-03-24T14:30:00Z'), t('2026-03-31T14:30:00Z'), true)).toEqual([
      { unit: 'minute', from: t('2026-03-24T14:30:00Z'), to: t('2026-03-24T15:00:00Z') },
      { unit: 'hour', from: t('2026-03-24T15:00:00Z'), to: t('2026-03-25T00:00:00Z') },
      { unit: 'day', from: t('2026-03-25T00:00:00Z'), to: t('2026-04-01T00:00:00Z') },
    ]);
    // -2h at 14:30: the hour under way instead of its minutes; not the day (more buckets)
    expect(coverRange(t('2026-03-31T12:30:00Z'), t('2026-03-31T14:30:00Z'), true)).toEqual([
      { unit: 'minute', from: t('2026-03-31T12:30:00Z'), to: t('2026-03-31T13:00:00Z') },
      { unit: 'hour', from: t('2026-03-31T13:00:00Z'), to: t('2026-03-31T15:00:00Z') },
    ]);
    // a range that is not open keeps its end
    expect(coverRange(t('2026-03-31T12:30:00Z'), t('2026-03-31T14:30:00Z')).at(-1)).toEqual({ unit: 'minute', from: t('2026-03-31T14:00:00Z'), to: t('2026-03-31T14:30:00Z') });
  });

  it('widens to whole minutes, and is empty when reversed', () => {
    expect(coverRange(t('2026-01-01T00:00:10Z'), t('2026-01-01T00:00:50Z'))).toEqual([{ unit: 'minute', from: t('2026-01-01T00:00:00Z'), to: t('2026-01-01T00:01:00Z') }]);
    expect(coverRange(t('2026-01-02T00:00:00Z'), t('2026-01-01T00:00:00Z'))).toEqual([]);
  });

  it('covers every minute of any range exactly once', () => {
    const base = t('2026-03-29T00:00:00Z');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 * 24 * 60 }), fc.integer({ min: 0, max: 4 * 24 * 60 }), (a, b) => {
        const from = base + a * minute;
        const to = base + b * minute;
        const covered: number[] = [];
        for (const span of coverRange(from, to)) {
          for (const start of startsOf(span)) for (let m = start; m < start + BUCKET_MS[span.unit]; m += minute) covered.push(m);
        }
        const expected = [];
        for (let m = from; m < to; m += minute) expected.push(m);
        expect(covered.sort((x, y) => x - y)).toEqual(expected);
      }),
    );
  });
});

describe('bucketStart', () => {
  it('aligns to UTC minutes, hours and days', () => {
    const at = t('2026-10-25T01:59:59.999+02:00');
    expect(new Date(bucketStart(at, 'minute')).toISOString()).toBe('2026-10-24T23:59:00.000Z');
    expect(new Date(bucketStart(at, 'hour')).toISOString()).toBe('2026-10-24T23:00:00.000Z');
    expect(new Date(bucketStart(at, 'day')).toISOString()).toBe('2026-10-24T00:00:00.000Z');
  });
});
