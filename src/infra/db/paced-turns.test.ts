import { describe, expect, it } from 'vitest';
import { pacedTurns } from './paced-turns.js';

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('pacedTurns', () => {
  it('rests as long as the work since the last turn, and no more than 50 ms after a long slice', async () => {
    const turn = pacedTurns();
    busy(30);
    let started = performance.now();
    await turn();
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    // the clock starts again after the rest: a turn right after it hardly rests
    busy(300);
    started = performance.now();
    await turn();
    const rest = performance.now() - started;
    expect(rest).toBeGreaterThanOrEqual(45);
    expect(rest).toBeLessThan(250);
  });

  it('lets a timer due meanwhile run before the next slice', async () => {
    const turn = pacedTurns();
    let fired = false;
    setTimeout(() => (fired = true), 0);
    busy(5);
    await turn();
    expect(fired).toBe(true);
  });
});
