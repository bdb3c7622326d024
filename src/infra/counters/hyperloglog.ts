// HyperLogLog for the embedded driver, the algorithm Redis's PFCOUNT runs: 2^14 registers (a
// standard error of 0.81 %), each the longest run of leading zeros (+1) seen among the hashes
// that fall in it. Registers are stored as rows (key, bucket, register, rank) and merged with
// max(), so SQL can union any set of buckets; only the registers ever touched take a row.
export const HLL_PRECISION = 14;
export const HLL_REGISTERS = 1 << HLL_PRECISION;

/**
 * The register and rank of a visitor id: a hex digest (the visitor id is already a SHA-256, so
 * its bits are uniform). The first 14 bits pick the register; the rank counts the leading zeros
 * of the next 50 bits, plus one.
 */
export function registerOf(hexDigest: string): { register: number; rank: number } {
  const high = parseInt(hexDigest.slice(0, 8), 16) >>> 0;
  const low = parseInt(hexDigest.slice(8, 16), 16) >>> 0;
  const register = high >>> (32 - HLL_PRECISION);
  // the 18 bits of `high` after the register, then 32 of `low`: 50 bits in all
  const rest = (high << HLL_PRECISION) >>> 0;
  let rank = Math.clz32(rest) + 1;
  if (rank > 32 - HLL_PRECISION) rank = 32 - HLL_PRECISION + Math.clz32(low) + 1;
  return { register, rank };
}

/**
 * The cardinality estimate from the registers that have a rank: `touched` of them, and the sum of
 * 2^-rank over those. Untouched registers count as rank 0. Small counts use linear counting, as
 * the original paper says.
 */
export function estimate(touched: number, inverseSum: number): number {
  const m = HLL_REGISTERS;
  const alpha = 0.7213 / (1 + 1.079 / m);
  const empty = m - touched;
  const raw = (alpha * m * m) / (inverseSum + empty);
  if (raw <= 2.5 * m && empty > 0) return Math.round(m * Math.log(m / empty));
  return Math.round(raw);
}

/** Registers of a set of ids, as rows to merge with max(rank). */
export function registersOf(ids: Iterable<string>): Map<number, number> {
  const registers = new Map<number, number>();
  for (const id of ids) {
    const { register, rank } = registerOf(id);
    if ((registers.get(register) ?? 0) < rank) registers.set(register, rank);
  }
  return registers;
}
