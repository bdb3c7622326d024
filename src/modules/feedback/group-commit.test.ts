import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

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

describe('group commit', () => {
  it('writes items submitted in the same turn with one call, each getting its own result', async () => {
    const r = recorder();
    const group = new GroupCommit(r.write, { maxBatch: 100, maxInFlight: 1 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => group.submit(n)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(r.batches).toEqual([[1, 2, 3, 4]]);
  });

  it('gathers what arrives while a write is in flight into the next one, up to maxBatch', async () => {
    const r = recorder(20);
    const group = new GroupCommit(r.write, { maxBatch: 3, maxInFlight: 1 });
    const first = group.submit(0);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the first write is now in flight
    const rest = [1, 2, 3, 4, 5].map((n) => group.submit(n));
    expect(await Promise.all([first, ...rest])).toEqual([0, 10, 20, 30, 40, 50]);
    expect(r.batches).toEqual([[0], [1, 2, 3], [4, 5]]);
    expect(r.maxInFlight()).toBe(1);
  });

  it('runs up to maxInFlight writes at once', async () => {
    const r = recorder(20);
    const group = new GroupCommit(r.write, { maxBatch: 2, maxInFlight: 3 });
    await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => group.submit(n)));
    expect(r.maxInFlight()).toBe(3);
    expect(r.batches.flat().sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('answers no submitter before the write holding its item has finished', async () => {
    let finishWrite!: () => void;
    const group = new GroupCommit<number, number>(async (items) => {
      await new Promise<void>((resolve) => (finishWrite = resolve));
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    let answered = false;
    const pending = group.submit(1).then(() => (answered = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(answered).toBe(false);
    finishWrite();
    await pending;
    expect(answered).toBe(true);
  });

  it('fails every item of a failed write, and goes on with the next batch', async () => {
    let calls = 0;
    const group = new GroupCommit<number, number>(async (items) => {
      if (calls++ === 0) throw new Error('database is away');
      return items;
    }, { maxBatch: 10, maxInFlight: 1 });
    const failed = await Promise.allSettled([group.submit(1), group.submit(2)]);
    expect(failed.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((failed[0] as PromiseRejectedResult).reason.message).toBe('database is away');
    expect(await group.submit(3)).toBe(3);
  });

  it('refuses a write that returns the wrong number of results rather than misattributing them', async () => {
    const group = new GroupCommit<number, number>(async (items) => items.slice(1), { maxBatch: 10, maxInFlight: 1 });
    await expect(Promise.all([group.submit(1), group.submit(2)])).rejects.toThrow(/1 results for 2 items/);
  });
});
