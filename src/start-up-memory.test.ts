import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { releaseStartUpMemory, releasesStartUpMemory } from './start-up-memory.js';

const newSpaceBytes = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')!.space_size;

describe('releaseStartUpMemory', () => {
  it('gives back what a burst of start-up-like allocation left: the young generation shrinks and the freed old pages go (V8 12 and later; on V8 11 it runs nothing)', () => {
    // Like start-up: much allocated, much of it surviving long enough to grow the young generation
    // and reach the old one, then dropped.
    let kept: object[][] = [];
    for (let round = 0; round < 40; round++) {
      kept.push(Array.from({ length: 50_000 }, (_, i) => ({ round, i, text: `item ${i}` })));
      if (kept.length > 20) kept = kept.slice(10);
    }
    kept = [];
    const youngBefore = newSpaceBytes();
    const heapBefore = process.memoryUsage().heapTotal;
    const pauseMs = releaseStartUpMemory();
    if (!releasesStartUpMemory) {
      // Node 20, where the unit suite also runs: nothing collected, the young generation as it was
      expect(pauseMs).toBeNull();
      expect(newSpaceBytes()).toBe(youngBefore);
      return;
    }
    expect(newSpaceBytes()).toBeLessThan(youngBefore);
    expect(process.memoryUsage().heapTotal).toBeLessThan(heapBefore);
    expect(pauseMs).toBeGreaterThan(0);
  });

  it('does not leave gc() on the globals', () => {
    releaseStartUpMemory();
    expect('gc' in globalThis).toBe(false);
  });
});
