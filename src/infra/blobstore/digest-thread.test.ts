import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { THREAD_MIN_BYTES, digestOnThread } from './digest-thread.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

describe('the digest thread', () => {
  it('gives the same digests as hashing in place, for many bodies at once, md5 only when asked', async () => {
    const bodies = Array.from({ length: 20 }, () => randomBytes(THREAD_MIN_BYTES + Math.floor(Math.random() * 100_000)));
    const digests = await Promise.all(bodies.map((body, i) => digestOnThread(body, i % 2 === 0)));
    for (const [i, body] of bodies.entries()) {
      expect(digests[i].sha256.toString('hex')).toBe(sha256(body));
      expect(digests[i].md5?.toString('hex')).toBe(i % 2 === 0 ? md5(body) : undefined);
    }
  });

  it('hashes a view by its own bytes, not the whole buffer it lies in', async () => {
    const whole = randomBytes(3 * THREAD_MIN_BYTES);
    const view = whole.subarray(1000, 1000 + THREAD_MIN_BYTES);
    const digests = await digestOnThread(view, true);
    expect(digests.sha256.toString('hex')).toBe(sha256(Buffer.from(view)));
    expect(digests.md5!.toString('hex')).toBe(md5(Buffer.from(view)));
    // the view is still the caller's, unchanged (nothing was transferred away)
    expect(view.length).toBe(THREAD_MIN_BYTES);
    expect(whole.length).toBe(3 * THREAD_MIN_BYTES);
  });

  it('does not hold the process open once idle: a child that hashed exits by itself', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `import('${new URL('./digest-thread.ts', import.meta.url).href}').then(async ({ digestOnThread }) => { const d = await digestOnThread(Buffer.alloc(100000, 1), true); console.log(d.sha256.length, d.md5.length); })`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000, encoding: 'utf8' });
    expect(out.trim()).toBe('32 16');
  });
});
