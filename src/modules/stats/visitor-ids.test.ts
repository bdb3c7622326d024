import { describe, expect, it } from 'vitest';
import { BUCKET_MS } from '../../infra/counters/buckets.js';
import { VisitorIds } from './visitor-ids.js';

/** A salt store like the drivers': one random salt per day, none kept for a day that is over. */
function saltStore() {
  const salts = new Map<string, string>();
  return {
    salts,
    async daySalt(day: string, now: number) {
      const today = new Date(now).toISOString().slice(0, 10);
      for (const kept of salts.keys()) if (kept < today) salts.delete(kept);
      if (day < today) return crypto.randomUUID();
      if (!salts.has(day)) salts.set(day, crypto.randomUUID());
      return salts.get(day)!;
    },
  };
}

const log = { warn: () => {} };

describe('visitor ids', () => {
  it('are stable within a day, differ by address and agent, and change when the salt rotates at midnight', async () => {
    let now = Date.parse('2026-12-05T23:59:59.000Z');
    const store = saltStore();
    const ids = new VisitorIds(store, log, () => now);
    await ids.start();
    try {
      const before = ids.id('203.0.113.7', 'Firefox', now);
      expect(before).toMatch(/^[0-9a-f]{32}$/);
      expect(ids.id('203.0.113.7', 'Firefox', now - 3_600_000)).toBe(before);
      expect(ids.id('203.0.113.8', 'Firefox', now)).not.toBe(before);
      expect(ids.id('203.0.113.7', 'Chrome', now)).not.toBe(before);
      // the first request after midnight already has tomorrow's salt: no gap
      const after = ids.id('203.0.113.7', 'Firefox', now + 1_000);
      expect(after).toMatch(/^[0-9a-f]{32}$/);
      expect(after).not.toBe(before);
      // the next day, the store keeps no salt of the day before: its ids cannot be made again
      now += 1_000 + BUCKET_MS.hour;
      await ids.refresh();
      expect([...store.salts.keys()]).toEqual(['2026-12-06', '2026-12-07']);
      expect(ids.id('203.0.113.7', 'Firefox', now - BUCKET_MS.day)).toBe('');
      expect(ids.id('203.0.113.7', 'Firefox', now)).toBe(after);
    } finally {
      ids.close();
    }
  });

  it('keeps made ids no longer than the salt they were made with, nor more than it may', async () => {
    const now = Date.parse('2026-12-05T12:00:00.000Z');
    const store = saltStore();
    const ids = new VisitorIds(store, log, () => now);
    await ids.start();
    try {
      const first = ids.id('203.0.113.7', 'Firefox', now);
      // many visitors after it: whatever is kept, the id is the same
      for (let i = 0; i < 25_000; i++) ids.id(`198.51.100.${i % 250}`, `agent ${i}`, now);
      expect(ids.id('203.0.113.7', 'Firefox', now)).toBe(first);
      // the store lost its salt (a restarted Redis) and made a new one: the next look-up brings it,
      // and the visitor's id follows it
      store.salts.clear();
      await ids.refresh();
      const renewed = ids.id('203.0.113.7', 'Firefox', now);
      expect(renewed).toMatch(/^[0-9a-f]{32}$/);
      expect(renewed).not.toBe(first);
    } finally {
      ids.close();
    }
  });

  it('gives no id while the salt cannot be read, and one as soon as it can', async () => {
    let failing = true;
    const store = saltStore();
    const ids = new VisitorIds({ daySalt: (day, now) => (failing ? Promise.reject(new Error('down')) : store.daySalt(day, now!)) }, log);
    await ids.start();
    try {
      expect(ids.id('198.51.100.1', 'curl', Date.now())).toBe('');
      await ids.refresh(); // the look-up that id() started, still failing
      failing = false;
      await ids.refresh();
      expect(ids.id('198.51.100.1', 'curl', Date.now())).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      ids.close();
    }
  });

  it('does not ask a store that is down again on every request, only after a pause', async () => {
    let calls = 0;
    let now = Date.parse('2026-12-05T12:00:00Z');
    const ids = new VisitorIds({ daySalt: async () => (calls++, Promise.reject(new Error('down'))) }, log, () => now);
    await ids.start();
    try {
      expect(calls).toBe(1);
      for (let i = 0; i < 100; i++) expect(ids.id('198.51.100.1', 'curl', now)).toBe('');
      await ids.refresh();
      expect(calls).toBe(2); // the explicit refresh only
      now += 200; // the pause doubles from 100 ms: 200 ms after the second failure
      ids.id('198.51.100.1', 'curl', now);
      await ids.refresh();
      expect(calls).toBe(3);
      for (let i = 0; i < 5; i++) {
        await ids.refresh();
        now += 5_001;
      }
      const settled = calls;
      ids.id('198.51.100.1', 'curl', now - 4_000); // within the longest pause: no ask
      await ids.refresh();
      expect(calls).toBe(settled + 1);
      now += 5_001;
      ids.id('198.51.100.1', 'curl', now);
      await ids.refresh();
      expect(calls).toBe(settled + 2);
    } finally {
      ids.close();
    }
  });
});
