// Time buckets, unique visitors and day salts: the part of the counters contract every driver
// must keep alike (run by countersConformance, so each driver's test file runs it).
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { BUCKET_MS, utcDay } from './buckets.js';
import { ALL_KEYS, type Counters } from './contract.js';

const t = (iso: string) => Date.parse(iso);
const HOUR = BUCKET_MS.hour;
const DAY = BUCKET_MS.day;
const visitor = (i: number) => createHash('sha256').update(`visitor ${i}`).digest('hex');
const sum = (points: { count: number }[]) => points.reduce((total, p) => total + p.count, 0);

export function bucketsConformance(fresh: () => Promise<Counters>, open: () => Promise<Counters>): void {
  // Fixed dates are in the future: buckets past their retention are never kept (every driver).
  it('ranks keys over a range that crosses hour and day boundaries, and leaves out what is outside it', async () => {
    const c = await fresh();
    c.increment('/a', '', t('2027-03-28T22:59:00Z'));
    c.increment('/a', '', t('2027-03-29T00:00:30Z'));
    c.increment('/b', '', t('2027-03-29T13:05:00Z'));
    c.increment('/b', '', t('2027-03-30T01:10:59Z'));
    c.increment('/b', '', t('2027-03-30T01:11:00Z')); // the range's end is exclusive
    c.increment('/c', '', t('2027-03-28T22:58:59Z')); // before the range
    const range = { from: t('2027-03-28T22:59:00Z'), to: t('2027-03-30T01:11:00Z') };
    expect(await c.top({ limit: 10, offset: 0, range })).toEqual({
      total: 4,
      unique: 2,
      entries: [
        { key: '/a', count: 2 },
        { key: '/b', count: 2 },
      ],
    });
    expect((await c.top({ limit: 1, offset: 1, range })).entries).toEqual([{ key: '/b', count: 2 }]);
    // the all-time count still counts everything
    expect((await c.top({ limit: 10, offset: 0 })).total).toBe(6);
  });

  it('gives equal counts in the minute, hour and day views of one span, zero-filled', async () => {
    const c = await fresh();
    const day = t('2027-06-01T00:00:00Z');
    for (let i = 0; i < 50; i++) c.increment('/x', '', day + ((i * 7919) % 1440) * 60_000 + 1_000);
    c.increment('/y', '', day + 5 * HOUR);
    const range = { from: day, to: day + DAY };
    const minutes = await c.series({ key: '/x', unit: 'minute', range });
    const hours = await c.series({ key: '/x', unit: 'hour', range });
    const days = await c.series({ key: '/x', unit: 'day', range });
    expect([minutes.length, hours.length, days.length]).toEqual([1440, 24, 1]);
    expect([sum(minutes), sum(hours), sum(days)]).toEqual([50, 50, 50]);
    expect(hours[0]).toEqual({ start: day, count: hours[0].count, unique_visitors: 0 });
    expect(minutes.filter((p) => p.count === 0).length).toBe(1440 - 50);
    const all = await c.series({ unit: 'hour', range });
    expect(sum(all)).toBe(51);
    expect(all[5].count).toBe(hours[5].count + 1);
  });

  it('has 23 hourly points on the spring DST day of Europe/Warsaw, and 25 on the autumn one', async () => {
    const c = await fresh();
    const spring = { from: t('2027-03-28T00:00:00+01:00'), to: t('2027-03-29T00:00:00+02:00') };
    const autumn = { from: t('2027-10-31T00:00:00+02:00'), to: t('2027-11-01T00:00:00+01:00') };
    c.increment('/dst', '', t('2027-03-28T01:59:00+01:00'));
    c.increment('/dst', '', t('2027-03-28T03:00:00+02:00'));
    c.increment('/dst', '', t('2027-10-31T02:30:00+02:00'));
    c.increment('/dst', '', t('2027-10-31T02:30:00+01:00'));
    const springHours = await c.series({ key: '/dst', unit: 'hour', range: spring });
    const autumnHours = await c.series({ key: '/dst', unit: 'hour', range: autumn });
    expect([springHours.length, autumnHours.length]).toEqual([23, 25]);
    expect(springHours.filter((p) => p.count).map((p) => p.count)).toEqual([1, 1]);
    expect(autumnHours.filter((p) => p.count).map((p) => p.count)).toEqual([1, 1]);
    expect((await c.top({ limit: 1, offset: 0, range: spring })).total).toBe(2);
    expect((await c.top({ limit: 1, offset: 0, range: autumn })).total).toBe(2);
  });

  it('counts unique visitors per key, over every key, all-time and over a range', async () => {
    const c = await fresh();
    const at = t('2027-05-10T10:00:00Z');
    for (let i = 0; i < 30; i++) c.increment('/p', visitor(i % 10), at + i * 60_000);
    for (let i = 0; i < 5; i++) c.increment('/q', visitor(i + 100), at + DAY);
    c.increment('/q', visitor(3), at + DAY);
    c.increment('/q', '', at + DAY); // no visitor: counted, not a visitor
    const allTime = await c.visitors(['/p', '/q', ALL_KEYS, '/never']);
    expect(Object.fromEntries(allTime)).toEqual({ '/p': 10, '/q': 6, [ALL_KEYS]: 15, '/never': 0 });
    const firstDay = await c.visitors(['/p', '/q', ALL_KEYS], { from: at, to: at + HOUR });
    expect(Object.fromEntries(firstDay)).toEqual({ '/p': 10, '/q': 0, [ALL_KEYS]: 10 });
    const hours = await c.series({ key: '/p', unit: 'hour', range: { from: at, to: at + HOUR } });
    expect(hours).toEqual([{ start: at, count: 30, unique_visitors: 10 }]);
    const everyKey = await c.series({ unit: 'day', range: { from: at, to: at - 10 * HOUR + 2 * DAY } });
    expect(everyKey.map((p) => p.unique_visitors)).toEqual([10, 6]);
  });

  it('counts the visitors of a group of keys once each, however many of its keys they visited (a route pattern)', async () => {
    const c = await fresh();
    const at = t('2027-05-12T10:00:00Z');
    // visitors 0–9 see /item/1, 5–14 see /item/2 (5 in both), 20–22 see /item/3 a day later
    for (let i = 0; i < 10; i++) c.increment('/item/1', visitor(i), at);
    for (let i = 5; i < 15; i++) c.increment('/item/2', visitor(i), at + HOUR);
    for (let i = 20; i < 23; i++) c.increment('/item/3', visitor(i), at + DAY);
    c.increment('/other', visitor(0), at);
    expect(await c.unionVisitors([['/item/1', '/item/2', '/item/3'], ['/item/1', '/other'], ['/never'], []])).toEqual([18, 10, 0, 0]);
    expect(await c.unionVisitors([['/item/1', '/item/2', '/item/3']], { from: at, to: at + 2 * HOUR })).toEqual([15]);
    // many keys (past one call's worth of HLLs on Redis): still each visitor once
    const many = Array.from({ length: 1_200 }, (_, i) => `/many/${i}`);
    for (const [i, key] of many.entries()) c.increment(key, visitor(i % 50), at);
    // an estimate: two of the 50 ids may share a register (the embedded estimator then says 49), never 1,200
    const [union] = await c.unionVisitors([many]);
    expect(Math.abs(union - 50)).toBeLessThanOrEqual(1);
  });

  it('estimates 100,000 unique visitors within 2 %', { timeout: 120_000 }, async () => {
    const c = await fresh();
    const at = t('2027-05-11T10:00:00Z');
    for (let i = 0; i < 100_000; i++) {
      c.increment('/hll', visitor(i), at);
      if (i % 10_000 === 0) await c.flush();
    }
    const estimate = (await c.visitors(['/hll'])).get('/hll')!;
    expect(Math.abs(estimate - 100_000) / 100_000).toBeLessThan(0.02);
    const ranged = (await c.visitors(['/hll'], { from: at - DAY, to: at + DAY })).get('/hll')!;
    expect(Math.abs(ranged - 100_000) / 100_000).toBeLessThan(0.02);
  });

  it('answers the last 24 h, 7 d and 30 d from ranked windows exactly as from the buckets, as hours are folded in', { timeout: 60_000 }, async () => {
    const c = await fresh();
    const start = t('2027-05-10T12:20:30Z');
    const made: { key: string; at: number }[] = [];
    const add = (key: string, at: number) => {
      c.increment(key, '', at);
      made.push({ key, at });
    };
    // 9 days of requests every 17 minutes over 40 keys, skewed, with ties
    for (let at = start - 9 * DAY, i = 0; at < start; at += 17 * 60_000, i++) add(`/w/${(i * i) % 40}`, at);
    // a key of one hour only (14:00 the day before): in the 22-hour window until the fold below takes that hour off
    add('/w/that-hour', start - 22 * HOUR + 10 * 60_000);
    const expected = (range: { from: number; to: number }, limit: number, offset: number) => {
      const from = range.from - (range.from % 60_000);
      const to = Math.ceil(range.to / 60_000) * 60_000;
      const counts = new Map<string, number>();
      for (const m of made) if (m.at >= from && m.at < to) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
      const ranked = [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
      return { total: ranked.reduce((n, e) => n + e.count, 0), unique: ranked.length, entries: ranked.slice(offset, offset + limit) };
    };
    const check = async (now: number) => {
      for (const span of [DAY, 7 * DAY, 30 * DAY]) {
        const range = { from: now - span, to: now };
        for (const [limit, offset] of [[5, 0], [100, 0], [4, 9]]) expect(await c.top({ limit, offset, range })).toEqual(expected(range, limit, offset));
      }
    };
    await c.flush();
    await check(start);
    expect(await c.rollUp(start)).toBe(3); // each window built
    expect(await c.rollUp(start)).toBe(0);
    await check(start);
    // an hour and a half later: new requests in the current hour, then its hours folded
    const later = start + 90 * 60_000;
    for (let i = 0; i < 30; i++) add(`/w/${i % 3 === 0 ? 39 : i % 7}`, start + i * 3 * 60_000);
    await c.flush();
    await check(later);
    expect(await c.rollUp(later)).toBe(3); // the hour 12:00 in each of the three windows
    await check(later);
    // a window folded past the range's end is not used for it (an older range is the buckets')
    expect(await c.top({ limit: 5, offset: 0, range: { from: start - 7 * DAY, to: start } })).toEqual(expected({ from: start - 7 * DAY, to: start }, 5, 0));
    // reset clears the windows with the buckets
    await c.reset();
    expect(await c.top({ limit: 5, offset: 0, range: { from: later - 7 * DAY, to: later } })).toEqual({ total: 0, unique: 0, entries: [] });
  });

  it('answers a range that ends now (open) as the same range read to its end, from fewer buckets', async () => {
    const c = await fresh();
    const now = Date.now();
    const ago = [0, 10 * 60_000, 3 * HOUR, 26 * HOUR, 2 * DAY + 7 * 60_000, 6 * DAY + 5 * HOUR];
    ago.forEach((before, i) => {
      for (let j = 0; j <= i; j++) c.increment(`/open/${j % 3}`, visitor(i * 10 + j), now - before);
    });
    await c.flush();
    const keys = ['/open/0', '/open/1', '/open/2', ALL_KEYS];
    for (const span of [2 * HOUR, DAY, 7 * DAY]) {
      const closed = { from: now - span, to: now };
      const open = { ...closed, open: true };
      expect(await c.top({ limit: 10, offset: 0, range: open })).toEqual(await c.top({ limit: 10, offset: 0, range: closed }));
      expect(await c.visitors(keys, open)).toEqual(await c.visitors(keys, closed));
      expect(await c.unionVisitors([keys.slice(0, 2)], open)).toEqual(await c.unionVisitors([keys.slice(0, 2)], closed));
    }
    expect((await c.top({ limit: 10, offset: 0, range: { from: now - 7 * DAY, to: now, open: true } })).total).toBe(21);
  });

  it('drops minute buckets past 48 hours and hour buckets past 90 days on prune, and keeps days', async () => {
    const c = await fresh();
    const now = Date.now();
    const old = now - 3 * DAY;
    const ancient = now - 100 * DAY;
    c.increment('/old', visitor(1), old);
    c.increment('/old', visitor(1), ancient);
    await c.flush();
    await c.prune(now);
    const near = { from: old - HOUR, to: old + HOUR };
    const far = { from: ancient - DAY, to: ancient + DAY };
    expect(sum(await c.series({ key: '/old', unit: 'minute', range: near }))).toBe(0);
    expect(sum(await c.series({ key: '/old', unit: 'hour', range: near }))).toBe(1);
    expect(sum(await c.series({ key: '/old', unit: 'hour', range: far }))).toBe(0);
    expect(sum(await c.series({ key: '/old', unit: 'day', range: far }))).toBe(1);
    expect((await c.top({ limit: 10, offset: 0 })).entries).toEqual([{ key: '/old', count: 2 }]);
  });

  it('counts bots\' requests with everything, and again on their own', async () => {
    const c = await fresh();
    const at = t('2027-05-15T10:00:00Z');
    c.increment('/crawled', '', at, true);
    c.increment('/crawled', '', at, true);
    c.increment('/crawled', '', at);
    c.increment('/human', '', at);
    const range = { from: at, to: at + HOUR };
    expect(await c.top({ limit: 10, offset: 0, range })).toEqual({ total: 4, unique: 2, entries: [{ key: '/crawled', count: 3 }, { key: '/human', count: 1 }] });
    expect(await c.top({ limit: 10, offset: 0, range, bots: true })).toEqual({ total: 2, unique: 1, entries: [{ key: '/crawled', count: 2 }] });
    expect(sum(await c.series({ key: '/crawled', unit: 'minute', range }))).toBe(3);
    expect((await c.top({ limit: 10, offset: 0 })).total).toBe(4);
  });

  it('resets buckets and visitors with the counts', async () => {
    const c = await fresh();
    const at = t('2027-05-12T10:00:00Z');
    c.increment('/gone', visitor(1), at);
    await c.flush();
    await c.reset();
    expect(await c.top({ limit: 10, offset: 0, range: { from: at, to: at + HOUR } })).toEqual({ total: 0, unique: 0, entries: [] });
    expect((await c.visitors(['/gone'])).get('/gone')).toBe(0);
  });

  it('shares buckets and visitors between instances on one store', async () => {
    const c = await fresh();
    const other = await open();
    try {
      const at = t('2027-05-13T10:00:00Z');
      c.increment('/both', visitor(1), at);
      other.increment('/both', visitor(1), at);
      other.increment('/both', visitor(2), at);
      await other.flush();
      expect((await c.top({ limit: 10, offset: 0, range: { from: at, to: at + HOUR } })).entries).toEqual([{ key: '/both', count: 3 }]);
      expect((await c.visitors(['/both'])).get('/both')).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('counts a range\'s visitors the same when asked again, with visitors arriving now, and none after a reset by another instance', async () => {
    const c = await fresh();
    const other = await open();
    try {
      const now = Date.now();
      // 8 visitors a day on five past days (their buckets are settled: drivers may merge them once), two
      // today, one of them seen before. Visitors 200–239, 300 and 301 fall in distinct registers of
      // the embedded driver's HLL as of Redis's, so both count them exactly.
      const id = (i: number) => visitor(200 + i);
      for (let day = 1; day <= 5; day++) for (let v = 0; v < 8; v++) c.increment('/seen', id((day - 1) * 8 + v), now - day * DAY);
      c.increment('/seen', id(100), now);
      c.increment('/seen', id(3), now);
      await c.flush();
      const range = { from: now - 6 * DAY, to: now, open: true };
      const keys = ['/seen', ALL_KEYS, '/never'];
      // at this cardinality a HyperLogLog counts exactly
      expect(await c.visitors(keys, range)).toEqual(new Map([['/seen', 41], [ALL_KEYS, 41], ['/never', 0]]));
      expect(await c.visitors(keys, range)).toEqual(new Map([['/seen', 41], [ALL_KEYS, 41], ['/never', 0]]));
      // the open day is read afresh: a visitor counted now (by either instance) is in the next answer
      other.increment('/seen', id(101), now);
      await other.flush();
      expect((await c.visitors(['/seen'], range)).get('/seen')).toBe(42);
      expect(await c.unionVisitors([['/seen']], range)).toEqual([42]);
      // a range over other settled buckets: four past days and today
      expect((await c.visitors(['/seen'], { from: now - 4.5 * DAY, to: now, open: true })).get('/seen')).toBe(8 * 4 + 2);
      // a reset by the other instance: nothing is left to count, in either
      await other.reset();
      expect(await c.visitors(keys, range)).toEqual(new Map([['/seen', 0], [ALL_KEYS, 0], ['/never', 0]]));
    } finally {
      await other.close();
    }
  });

  it('shares one salt per day between instances, makes tomorrow\'s early, and keeps none of a day that is over', async () => {
    const c = await fresh();
    const other = await open();
    try {
      const now = Date.now();
      const today = utcDay(now);
      const tomorrow = utcDay(now + DAY);
      const salt = await c.daySalt(today, now);
      expect(salt).toMatch(/^[0-9a-f]{64}$/);
      expect(await other.daySalt(today, now)).toBe(salt);
      const next = await c.daySalt(tomorrow, now);
      expect(next).not.toBe(salt);
      // a day later: tomorrow's salt is still the same, today's is gone for good
      expect(await other.daySalt(tomorrow, now + DAY)).toBe(next);
      const over = await c.daySalt(today, now + DAY);
      expect(over).not.toBe(salt);
      expect(await other.daySalt(today, now + DAY)).not.toBe(over);
    } finally {
      await other.close();
    }
  });
}

export function bucketsExportConformance(fresh: () => Promise<Counters>): void {
  it('pages through every bucket row of a range, oldest bucket first, each row once', async () => {
    const c = await fresh();
    const at = t('2027-05-14T10:00:00Z');
    for (let i = 0; i < 25; i++) for (let n = 0; n <= i % 3; n++) c.increment(`/e/${i}`, '', at + (i % 4) * HOUR);
    c.increment('/outside', '', at + 5 * HOUR);
    const rows = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await c.exportPage({ unit: 'hour', range: { from: at, to: at + 4 * HOUR }, cursor, limit: 4 });
      rows.push(...page.rows);
      cursor = page.cursor ?? undefined;
      pages++;
    } while (cursor !== undefined && pages < 50);
    expect(rows.map((r) => r.start)).toEqual([...rows.map((r) => r.start)].sort((a, b) => a - b));
    const expected = Array.from({ length: 25 }, (_, i) => ({ start: at + (i % 4) * HOUR, key: `/e/${i}`, count: 1 + (i % 3) }));
    const order = (a: { start: number; key: string }, b: { start: number; key: string }) => a.start - b.start || (a.key < b.key ? -1 : 1);
    expect([...rows].sort(order)).toEqual(expected.sort(order));
  });
}
