import { describe, expect, it } from 'vitest';
import { TickBatch, batchedLookup } from './tick-batch.js';

function recorder(delayMs = 5) {
  const batches: number[][] = [];
  let inFlight = 0;
  let maxSeen = 0;
  const write = async (items: number[]) => {
    batches.push(items);
    inFlight++;
    maxSeen = Math.max(maxSeen, inFlight);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    inFlight--;
    return items.map((n) => n * 10);
  };
  return { batches, write, maxInFlight: () => maxSeen };
}

describe('tick batch', () => {
  it('writes items submitted in the same turn with one call, each getting its own result', async () => {
    const r = recorder();
    const group = new TickBatch(r.write, { maxBatch: 100, maxInFlight: 1 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => group.add(n)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(r.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('gathers what arrives while a write is in flight into the next one, up to maxBatch', async () => {
    const r = recorder(20);
    const group = new TickBatch(r.write, { maxBatch: 3, maxInFlight: 1 });
    const first = group.add(0);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the first write is now in flight
    const rest = [1, 2, 3, 4, 5].map((n) => group.add(n));
    expect(await Promise.all([first, ...rest])).toEqual([0, 10, 20, 30, 40, 50]);
    expect(r.batches).toEqual([[0], [1, 2, 3], [4, 5]]);
    expect(r.maxInFlight()).toBe(1);
  });

  it('runs up to maxInFlight writes at once', async () => {
    const r = recorder(20);
    const group = new TickBatch(r.write, { maxBatch: 2, maxInFlight: 3 });
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => group.add(n)));
    expect(r.maxInFlight()).toBe(3);
    expect(r.batches.flat().sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('answers no submitter before the write holding its item has finished', async () => {
    let finishWrite!: () => void;
    const group = new TickBatch<number, number>(async (items) => {
      await new Promise<void>((resolve) => (finishWrite = resolve));
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    let answered = false;
    const pending = group.add(1).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    finishWrite();
    await pending;
    expect(answered).toBe(true);
  });

  it('fails every item of a failed write, and goes on with the next batch', async () => {
    let calls = 0;
    const group = new TickBatch<number, number>(async (items) => {
      if (calls++ === 0) throw new Error('database is away');
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    const failed = await Promise.allSettled([group.add(1), group.add(2)]);
    expect(failed.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('database is away');
    expect(await group.add(3)).toBe(3);
  });

  it('refuses a write that returns the wrong number of results rather than misattributing them', async () => {
    const group = new TickBatch<number, number>(async (items) => items.slice(1), { maxBatch: 10, maxInFlight: 1 });
    await expect(Promise.all([group.add(1), group.add(2)])).rejects.toThrow(/1 results for 2 items/);
  });

  it('starts at most runsPerTurn runs a turn, the rest on the next turns', async () => {
    const log: string[] = [];
    const group = new TickBatch<number, number>(async (items) => {
      log.push(`run ${items}`);
      return items;
    }, { maxBatch: 2, runsPerTurn: 1 });
    const calls = [1, 2, 3, 4, 5].map((n) => group.add(n));
    // Another turn's work gets in between the runs.
    setImmediate(() => {
      log.push('other');
      setImmediate(() => log.push('other'));
    });
    await Promise.all(calls);
    expect(log).toEqual(['run 1,2', 'other', 'run 3,4', 'other', 'run 5']);
  });

  it('settles at most settlePerTurn callers a turn, in order', async () => {
    const log: string[] = [];
    const group = new TickBatch<number, number>(async (items) => items, { maxBatch: 100, settlePerTurn: 2 });
    const calls = [1, 2, 3, 4, 5].map((n) => group.add(n).then(() => log.push(`call ${n}`)));
    const turns = (n: number): void => void (n && setImmediate(() => (log.push('turn'), turns(n - 1))));
    turns(4);
    await Promise.all(calls);
    expect(log.join(' ')).toMatch(/^turn call 1 call 2 turn call 3 call 4 turn call 5/);
  });
});

describe('batched lookup', () => {
  it('reads the distinct ids asked for in one turn with one fetch, and answers undefined for a missing one', async () => {
    const fetches: string[][] = [];
    const lookup = batchedLookup<number>(async (ids) => {
      fetches.push(ids);
      return new Map(ids.filter((id) => id !== 'missing').map((id) => [id, id.length]));
    });
    expect(await Promise.all(['a', 'bb', 'a', 'missing'].map((id) => lookup.get(id)))).toEqual([1, 2, 1, undefined]);
    expect(fetches).toEqual([['a', 'bb', 'missing']]);
  });

  it('fetches in chunks one after the other, a failed chunk failing only its own callers', async () => {
    let inFlight = 0;
    let maxSeen = 0;
    const chunks: number[] = [];
    const lookup = batchedLookup<string>(async (ids) => {
      inFlight++;
      maxSeen = Math.max(maxSeen, inFlight);
      chunks.push(ids.length);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      if (chunks.length === 1) throw new Error('redis is away');
      return new Map(ids.map((id) => [id, id]));
    }, 2);
    const answers = await Promise.allSettled(['1', '2', '3', '4', '5'].map((id) => lookup.get(id)));
    expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(chunks).toEqual([2, 2, 1]);
    expect(maxSeen).toBe(1);
  });
});
