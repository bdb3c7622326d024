import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { estimate, registersOf } from './hyperloglog.js';

const id = (i: number) => createHash('sha256').update(`visitor ${i}`).digest('hex');

function estimateOf(ids: string[]): number {
  const registers = registersOf(ids);
  let inverseSum = 0;
  for (const rank of registers.values()) inverseSum += 2 ** -rank;
  return estimate(registers.size, inverseSum);
}

describe('HyperLogLog', () => {
  it('estimates 100,000 distinct visitors within 2 %', () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => id(i));
    expect(Math.abs(estimateOf(ids) - 100_000) / 100_000).toBeLessThan(0.02);
  });

  it('is exact enough for small counts, and repeats do not count', () => {
    expect(estimateOf([])).toBe(0);
    expect(estimateOf([id(1), id(1), id(1)])).toBe(1);
    expect(estimateOf(Array.from({ length: 500 }, (_, i) => id(i % 250)))).toBeGreaterThanOrEqual(248);
    expect(estimateOf(Array.from({ length: 500 }, (_, i) => id(i % 250)))).toBeLessThanOrEqual(252);
  });

  it('stays within 2 % from 1,000 to 300,000', () => {
    for (const n of [1_000, 10_000, 40_000, 300_000]) {
      const ids = Array.from({ length: n }, (_, i) => id(i + n));
      expect(Math.abs(estimateOf(ids) - n) / n, `n = ${n}`).toBeLessThan(0.02);
    }
  });
});
