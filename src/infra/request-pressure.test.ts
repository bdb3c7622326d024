import { afterEach, describe, expect, it } from 'vitest';
import { RequestPressure, type State } from './request-pressure.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A RequestPressure whose event loop utilisation the test sets, with requests coming every 2 ms
 * while `requests` is on. `started` counts the turns given so far, as each sample finds it.
 */
function driven(options: { turnsPerSample?: number; freeSamplesAfterTry?: number } = {}) {
  // a number, or what the loop's utilisation is in each mode (read at the sample, so no race with the test)
  const state = { utilisation: 0 as number | ((mode: State) => number), requests: false, samples: 0, startedAtSample: [] as number[], started: 0 };
  const pressure: RequestPressure = new RequestPressure({
    sampleMs: 5,
    turnsPerSample: options.turnsPerSample ?? 2,
    freeSamplesAfterTry: options.freeSamplesAfterTry ?? 10,
    utilisation: () => {
      state.samples++;
      state.startedAtSample.push(state.started);
      return typeof state.utilisation === 'number' ? state.utilisation : state.utilisation(pressure.mode);
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

/** driven(), with requests coming and the loop full, once a try has found it is the requests that fill it */
async function yieldingNow(options: Parameters<typeof driven>[0] = {}) {
  const driving = driven(options);
  cleanup.push(driving.stop, () => driving.pressure.close());
  driving.state.requests = true;
  driving.state.utilisation = 1;
  await until(() => driving.pressure.mode === 'yielding');
  return driving;
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
    const { pressure, state, take } = await yieldingNow({ turnsPerSample: 2 });
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
    // full while the work runs; with the work held back (a try), the loop has room: the work filled
    // it. The work asks for its turns as the try begins (from the sample itself: no race).
    const waiting: Promise<void>[] = [];
    state.utilisation = (mode) => {
      if (mode === 'trying' && waiting.length === 0) waiting.push(...Array.from({ length: 50 }, () => take()));
      return mode === 'trying' ? 0.3 : 1;
    };
    state.requests = true;
    await until(() => waiting.length > 0);
    await Promise.all(waiting);
    expect(pressure.mode).toBe('free');
    // still busy, but no new try before the free samples have passed: turns come at once
    const samples = state.samples;
    await until(() => state.samples >= samples + 10);
    expect(pressure.mode).toBe('free');
    await take();
    expect(pressure.waits).toBe(50);
  });

  it('stops yielding when the requests stop coming', async () => {
    const { pressure, state, take } = await yieldingNow();
    const waiting = Array.from({ length: 100 }, () => take());
    state.requests = false;
    await Promise.all(waiting);
    expect(pressure.yielding).toBe(false);
    // fewer than 100 / 2 samples: the rest started together once the requests were gone
    expect(state.samples).toBeLessThan(50);
  });

  it('rejects a waiting turn whose signal aborts, and gives its place to the next', async () => {
    const { state, take } = await yieldingNow({ turnsPerSample: 1 });
    const controller = new AbortController();
    const aborted = take(controller.signal);
    const next = take();
    controller.abort(new Error('shutting down'));
    await expect(aborted).rejects.toThrow('shutting down');
    await next;
    expect(state.started).toBe(1);
  });

  it('lets everything waiting start when closed', async () => {
    const { pressure, state, take } = await yieldingNow({ turnsPerSample: 1 });
    const waiting = Array.from({ length: 30 }, () => take());
    pressure.close();
    await Promise.all(waiting);
    expect(state.started).toBe(30);
  });
});
