import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compensatedSum } from './sum.js';

/** x × 2^1074 as an exact integer: every finite double is an integer multiple of 2^-1074. */
function exactScaled(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const exponent = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const magnitude = exponent === 0 ? fraction : (fraction | (1n << 52n)) << BigInt(exponent - 1);
  return bits >> 63n ? -magnitude : magnitude;
}

const abs = (n: bigint) => (n < 0n ? -n : n);

describe('compensatedSum', () => {
  it('keeps the small term that plain addition loses: [1e16, 1, -1e16] is 1', () => {
    expect([1e16, 1, -1e16].reduce((a, b) => a + b)).toBe(0);
    expect(compensatedSum([1e16, 1, -1e16])).toBe(1);
  });

  it('sums ten 0.1 to exactly 1', () => {
    expect(compensatedSum(Array(10).fill(0.1))).toBe(1);
  });

  it('adds the example of the issue', () => {
    expect(compensatedSum([1, 2.5, -3])).toBe(0.5);
  });

  it('finds a finite total even when a running sum leaves the double range', () => {
    expect(compensatedSum([1e308, 1e308, -1e308])).toBe(1e308);
    expect(compensatedSum([-1.7e308, -1.7e308, 1.7e308, 5])).toBe(-1.7e308);
  });

  it('returns null when the exact total is beyond the double range', () => {
    expect(compensatedSum([1.7e308, 1.7e308])).toBeNull();
    expect(compensatedSum(Array(100_000).fill(-Number.MAX_VALUE))).toBeNull();
  });

  it('stays within two roundings of the exact sum (plus a term in n²ε² that plain addition far exceeds)', () => {
    const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e300, max: 1e300 });
    const withCancellation = fc
      .tuple(fc.array(finite, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }))
      .map(([values, picks]) => [...values, ...picks.map((p) => -values[p % values.length] * (p % 3 === 0 ? 1 : 0.999999))]);
    fc.assert(
      fc.property(withCancellation, (values) => {
        const result = compensatedSum(values);
        expect(result).not.toBeNull();
        const exact = values.reduce((sum, x) => sum + exactScaled(x), 0n);
        const magnitudes = values.reduce((sum, x) => sum + abs(exactScaled(x)), 0n);
        const n = BigInt(values.length);
        const bound = ((2n * abs(exact)) >> 53n) + ((8n * n * n * magnitudes) >> 106n) + 1n;
        expect(abs(exactScaled(result!) - exact) <= bound).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
