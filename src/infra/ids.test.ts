import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newRowId } from './ids.js';

describe('newRowId', () => {
  it('makes valid version 7 UUIDs, all different, across refills of its random bytes', () => {
    const ids = Array.from({ length: 10_000 }, () => newRowId());
    for (const id of ids.slice(0, 300)) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    expect(new Set(ids).size).toBe(ids.length);
    // The random tails differ too (not only the counter): 256 ids use up the 4 KiB drawn at once.
    expect(new Set(ids.map((id) => id.slice(-8))).size).toBeGreaterThan(9_990);
  });

  it('keeps the order ids were made in, within a millisecond and across them', () => {
    const ids = Array.from({ length: 20_000 }, () => newRowId());
    expect([...ids].sort()).toEqual(ids);
  });

  it('carries the time it was made in its first 48 bits', () => {
    const before = Date.now();
    const id = newRowId();
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});
