// The documented schedule: first retry within 10 s, about a day in all, jitter within ±20 %.
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_DELAYS_MS, retryDelay, withJitter } from './retry-schedule.js';

describe('webhook retry schedule', () => {
  it('retries first within 10 s, grows, and gives up after about 26 h (twelve attempts)', () => {
    expect(withJitter(DEFAULT_RETRY_DELAYS_MS[0], () => 1)).toBeLessThanOrEqual(10_000);
    for (let i = 1; i < DEFAULT_RETRY_DELAYS_MS.length; i++) expect(DEFAULT_RETRY_DELAYS_MS[i]).toBeGreaterThanOrEqual(DEFAULT_RETRY_DELAYS_MS[i - 1]);
    const hours = DEFAULT_RETRY_DELAYS_MS.reduce((sum, ms) => sum + ms, 0) / 3_600_000;
    expect(hours).toBeGreaterThan(22);
    expect(hours).toBeLessThan(28);
    expect(DEFAULT_RETRY_DELAYS_MS.length + 1).toBe(12);
    expect(retryDelay(DEFAULT_RETRY_DELAYS_MS, DEFAULT_RETRY_DELAYS_MS.length)).not.toBeNull();
    expect(retryDelay(DEFAULT_RETRY_DELAYS_MS, DEFAULT_RETRY_DELAYS_MS.length + 1)).toBeNull();
  });

  it('jitters each delay within ±20 %, and spreads them', () => {
    expect(withJitter(10_000, () => 0)).toBe(8_000);
    expect(withJitter(10_000, () => 0.999_999)).toBeLessThanOrEqual(12_000);
    const spread = new Set(Array.from({ length: 50 }, () => retryDelay([10_000], 1)));
    expect(spread.size).toBeGreaterThan(10);
    for (const delay of spread) expect(delay).toBeGreaterThanOrEqual(8_000);
  });
});
