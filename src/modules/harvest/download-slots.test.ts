import { describe, expect, it } from 'vitest';
import { DownloadSlots } from './download-slots.js';

const image = (size: number) => ({ bytes: Buffer.alloc(size) });
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('download slots', () => {
  it('runs at most N downloads at once; a finished download frees its slot before its bytes are released', async () => {
    const slots = new DownloadSlots(2, 1_000);
    let running = 0;
    let most = 0;
    const finish: (() => void)[] = [];
    const download = () =>
      slots.download(async () => {
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => finish.push(resolve));
        running--;
        return image(10);
      });
    const all = [download(), download(), download(), download()];
    await settled();
    expect(running).toBe(2);
    finish.shift()!();
    await settled();
    // the third starts although the first's bytes are still held
    expect(running).toBe(2);
    while (finish.length) {
      finish.shift()!();
      await settled();
    }
    await Promise.all(all);
    expect(most).toBe(2);
  });

  it('holds new downloads back while the bytes in hand pass the budget, and lets them go on release', async () => {
    const slots = new DownloadSlots(4, 100);
    const first = await slots.download(async () => image(150)); // one larger image still passes alone
    let started = false;
    const second = slots.download(async () => {
      started = true;
      return image(10);
    });
    await settled();
    expect(started).toBe(false);
    slots.release(first.bytes.length);
    await second;
    expect(started).toBe(true);
  });

  it('holds no bytes for a download that failed or had nothing new', async () => {
    const slots = new DownloadSlots(1, 0);
    await expect(slots.download(async () => Promise.reject(new Error('404')))).rejects.toThrow('404');
    expect(await slots.download(async () => Symbol.for('not modified'))).toBe(Symbol.for('not modified'));
    // nothing held: the next download starts at once
    expect((await slots.download(async () => image(1))).bytes.length).toBe(1);
  });
});
