import { afterEach, describe, expect, it } from 'vitest';
import { RequestPressure } from './request-pressure.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A RequestPressure whose event loop utilisation the test sets, with requests coming every 2 ms
 * while `requests` is on. `started` counts the turns given so far, as each sample finds it.
 */
function driven(options: { turnsPerSample?: number; freeSamplesAfterTry?: number } = {}) {
  const state = { utilisation: 0, requests: false, samples: 0, startedAtSample: [] as number[], started: 0 };
  const pressure = new RequestPressure({
    sampleMs: 5,
    turnsPerSample: options.turnsPerSample ?? 2,
    freeSamplesAfterTry: options.freeSamplesAfterTry ?? 10,
    utilisation: () => {
      state.samples++;
      state.startedAtSample.push(state.started);
      return state.utilisation;
    },
  });
  const timer = setInterval(() => {
    if (state.requests) pressure.requestBegun();
  }, 2);
  const take = (signal?: AbortSignal) => pressure.turn(signal).then(() => void state.started++);
  return { pressure, state, take, stop: () => clearInterval(timer) };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const stop of cleanup) stop();
  cleanup = [];
});

describe('request pressure', () => {
  it('gives a turn at once while nothing fills the loop', async () => {
    const { pressure, state, stop } = driven();
    cleanup.push(stop, () => pressure.close());
    state.requests = true;
    state.utilisation = 0.5;
    await sleep(30);
    let started = false;
    const turn = pressure.turn().then(() => (started = true));
    await Promise.resolve();
    expect(started).toBe(true);
    await turn;
    expect(pressure.yielding).toBe(false);
    expect(pressure.waits).toBe(0);
  });

  it('while requests fill the loop, gives a few turns per sample, and every waiting work still starts', async () => {
    const { pressure, state, take, stop } = driven({ turnsPerSample: 2 });
    cleanup.push(stop, () => pressure.close());
    state.requests = true;
    state.utilisation = 1;
    await until(() => pressure.yielding);
    // a try, then yielding: two samples that stay busy without the work
    await until(() => state.samples >= 3);
    const firstSample = state.samples;
    const turns = Array.from({ length: 20 }, () => take());
    await Promise.all(turns);
    expect(pressure.yielding).toBe(true);
    expect(pressure.waits).toBe(20);
    const perSample = state.startedAtSample.slice(firstSample).map((started, i, all) => started - (all[i - 1] ?? 0));
    expect(Math.max(...perSample)).toBeLessThanOrEqual(2);
    // 20 turns at 2 a sample: at least ten samples went by
    expect(state.samples - firstSample).toBeGreaterThanOrEqual(10);
  });

  it('runs work freely when a try shows the loop was full of that work, not of the requests', async () => {
    const { pressure, state, take, stop } = driven({ freeSamplesAfterTry: 1_000 });
    cleanup.push(stop, () => pressure.close());
    state.requests = true;
    state.utilisation = 1;
    await until(() => pressure.yielding);
    const waiting = Array.from({ length: 50 }, () => take());
    // the work held back, the loop has room: it was the work that filled it
    state.utilisation = 0.3;
    await Promise.all(waiting);
    expect(pressure.yielding).toBe(false);
    // busy again, but no new try before the free samples have passed: turns come at once
    state.utilisation = 1;
    await sleep(50);
    expect(pressure.yielding).toBe(false);
    await take();
  });

  it('stops yielding when the requests stop coming', async () => {
    const { pressure, state, take, stop } = driven();
    cleanup.push(stop, () => pressure.close());
    state.requests = true;
    state.utilisation = 1;
    await until(() => pressure.yielding);
    await until(() => state.samples >= 4);
    const waiting = Array.from({ length: 100 }, () => take());
    state.requests = false;
    await Promise.all(waiting);
    expect(pressure.yielding).toBe(false);
    // fewer than 100 / 2 samples: the rest started together once the requests were gone
    expect(state.samples).toBeLessThan(50);
  });

  it('rejects a waiting turn whose signal aborts, and gives its place to the next', async () => {
    const { pressure, state, take, stop } = driven({ turnsPerSample: 1 });
    cleanup.push(stop, () => pressure.close());
    state.requests = true;
    state.utilisation = 1;
    await until(() => pressure.yielding);
    const controller = new AbortController();
    const aborted = take(controller.signal);
    const next = take();
    controller.abort(new Error('shutting down'));
    await expect(aborted).rejects.toThrow('shutting down');
    await next;
    expect(state.started).toBe(1);
  });

  it('lets everything waiting start when closed', async () => {
    const { pressure, state, take, stop } = driven({ turnsPerSample: 1 });
    cleanup.push(stop);
    state.requests = true;
    state.utilisation = 1;
    await until(() => pressure.yielding);
    const waiting = Array.from({ length: 30 }, () => take());
    pressure.close();
    await Promise.all(waiting);
    expect(state.started).toBe(30);
  });
});
