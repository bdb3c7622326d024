import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../../test/support/workyard.js';

describe('the dashboard live stream', () => {
  it('ends when the app closes, so an open dashboard does not hold up a shutdown', async () => {
    const wy = await startTestWorkyard();
    let closed = false;
    try {
      const res = await fetch(`${wy.baseUrl}/dashboard/events`);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes('event: panels')) text += decoder.decode((await reader.read()).value);
      // The page stays open and keeps reading, as a browser would.
      const ended = (async () => {
        for (;;) if ((await reader.read()).done) return true;
      })();
      const started = performance.now();
      await wy.close();
      closed = true;
      expect(performance.now() - started).toBeLessThan(3_000);
      expect(await ended).toBe(true);
    } finally {
      if (!closed) await wy.close();
    }
  });
});
