// The arithmetic of compute.sum, apart from the queue and HTTP code that carry it.

export const SUM_OVERFLOW_MESSAGE = 'the exact sum lies beyond the range of a double (±1.797e308)';

/**
 * Neumaier's compensated summation (Kahan's, improved for terms larger than the running sum):
 * the rounding error of every addition is kept in a second accumulator and added back at the
 * end, so [1e16, 1, -1e16] gives 1 where plain left-to-right addition gives 0. The error stays
 * within about two roundings of the exact sum, whatever the count and order of the terms.
 * Returns null when the exact sum itself is not representable as a finite double.
 */
export function compensatedSum(values: readonly number[]): number | null {
  const sum = neumaier(values, 1);
  if (Number.isFinite(sum)) return sum;
  // A running sum left the double range though the total may not: scaling every term by the
  // same power of two is exact (bar terms below ~1e-290, which cannot matter next to ~1e308)
  // and keeps every running sum of up to `values.length` terms in range.
  const scale = 2 ** -(Math.ceil(Math.log2(values.length)) + 1);
  const unscaled = neumaier(values, scale) / scale;
  return Number.isFinite(unscaled) ? unscaled : null;
}

function neumaier(values: readonly number[], scale: number): number {
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < values.length; i++) {
    const term = values[i] * scale;
    const next = sum + term;
    // What the addition just lost: the low-order bits of whichever operand was smaller.
    compensation += Math.abs(sum) >= Math.abs(term) ? sum - next + term : term - next + sum;
    sum = next;
  }
  return sum + compensation;
}
