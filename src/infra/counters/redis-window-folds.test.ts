import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { needService, redisUrl, uniqueRedisPrefix } from '../../../test/support/services.js';
import { closeRedisClient, createRedisClient } from '../redis/connection.js';
import { BUCKET_MS, UNIT_CODE } from './buckets.js';
import { foldTarget } from './ranked-windows.js';
import { RedisCounters } from './redis.js';
import { foldInSlices } from './redis-window-folds.js';

const redis = await needService('redis');

const HOUR = BUCKET_MS.hour;
const DAY = BUCKET_MS.day;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

// The conformance suite folds in slices too (windowSlice 3); here, what happens between them.
describe.skipIf(!redis)('redis ranked windows folded a slice at a time', () => {
  const start = Date.parse('2027-08-10T12:20:30Z');
  const later = start + 90 * 60_000;
  const made: { key: string; at: number }[] = [];
  for (let at = start - 9 * DAY, i = 0; at < start; at += 17 * 60_000, i++) made.push({ key: `/f/${(i * i) % 40}`, at });
  // and in the hour 12:00, 300 keys: a fold of 150 slices, long enough to be seen under way
  const hourAfter = Array.from({ length: 330 }, (_, i) => ({ key: i < 30 ? `/f/${i % 3 === 0 ? 39 : i % 7}` : `/g/${i}`, at: start + (i % 30) * 3 * 60_000 }));
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const client of clients) if (client.status === 'ready') await closeRedisClient(client);
  });

  const connect = async () => {
    const client = createRedisClient({ redisUrl, dependencyTimeoutMs: 10_000 }, { name: 'window-folds-test' });
    if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    clients.push(client);
    return client;
  };
  const expected = (range: { from: number; to: number }, requests: { key: string; at: number }[]) => {
    const counts = new Map<string, number>();
    for (const m of requests) if (m.at >= range.from && m.at < range.to) counts.set(m.key, (counts.get(m.key) ?? 0) + 1);
    const ranked = [...counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
    return { total: ranked.reduce((n, e) => n + e.count, 0), unique: ranked.length, entries: ranked.slice(0, 100) };
  };
  /** Each range ending at `now`, as the counters rank it and as the requests made say. */
  const check = async (counters: RedisCounters, requests: { key: string; at: number }[], now = later, spans = [DAY, 7 * DAY, 30 * DAY]) => {
    for (const span of spans) {
      const range = { from: now - span, to: now };
      const from = range.from - (range.from % 60_000);
      expect(await counters.top({ limit: 100, offset: 0, range })).toEqual(expected({ from, to: Math.ceil(now / 60_000) * 60_000 }, requests));
    }
  };
  const setUp = async (prefix: string) => {
    const client = await connect();
    const counters = new RedisCounters(client, { prefix, timeoutMs: 10_000, windowSlice: 2 });
    for (const m of made) counters.increment(m.key, '', m.at);
    await counters.flush();
    expect(await counters.rollUp(start)).toBe(3);
    for (const m of hourAfter) counters.increment(m.key, '', m.at);
    await counters.flush();
    const folding = async (on = client) => Object.values(await on.hgetall(`${prefix}:{counters}:w:folding`)).filter((value) => !value.includes('/')).length;
    return { client, counters, folding };
  };

  it('answers every range exactly between the slices of a fold, and a fold a process left half way is finished by the next', async () => {
    const prefix = uniqueRedisPrefix('window-folds');
    const { client, counters, folding } = await setUp(prefix);
    // the hour 12:00 folded into each window two keys a call, read between the calls
    let done = false;
    const rolling = counters.rollUp(later).finally(() => (done = true));
    let seenUnderWay = 0;
    while (!done) {
      if (await folding()) seenUnderWay++;
      await check(counters, [...made, ...hourAfter]);
    }
    expect(await rolling).toBe(3);
    expect(seenUnderWay).toBeGreaterThan(0);
    expect(await folding()).toBe(0);
    await check(counters, [...made, ...hourAfter]);

    // the next hour's fold, stopped by cutting the process's connection once it is under way
    const next = later + HOUR;
    const requests = [...made, ...hourAfter, ...Array.from({ length: 20 }, (_, i) => ({ key: `/f/${i % 5}`, at: later + i * 60_000 }))];
    for (const m of requests.slice(made.length + hourAfter.length)) counters.increment(m.key, '', m.at);
    await counters.flush();
    let settled = false;
    const dying = counters.rollUp(next + 30 * 60_000).finally(() => (settled = true));
    while (!(await folding())) {
      if (settled) throw new Error('the roll-up ended before a fold was seen under way');
      await nextTurn();
    }
    const dyingFails = expect(dying).rejects.toThrow();
    client.disconnect();
    await dyingFails;
    // another process: exact answers from the half-folded window, then the fold finished
    const other = await connect();
    const resumed = new RedisCounters(other, { prefix, timeoutMs: 10_000, windowSlice: 2 });
    expect(await folding(other)).toBeGreaterThan(0);
    await check(resumed, requests, next + 30 * 60_000, [DAY, 7 * DAY]);
    await resumed.rollUp(next + 30 * 60_000);
    const marks = await other.hgetall(`${prefix}:{counters}:w:marks`);
    expect(Object.values(marks).map(Number)).toEqual([foldTarget(next + 30 * 60_000), foldTarget(next + 30 * 60_000), foldTarget(next + 30 * 60_000)]);
    expect(Object.keys(await other.hgetall(`${prefix}:{counters}:w:folding`))).toEqual([]);
    await check(resumed, requests, next + 30 * 60_000, [DAY, 7 * DAY]);
    await resumed.reset();
    await resumed.close();
  });

  it('drops the window when a count comes into an hour being folded, and the roll-up builds it afresh', async () => {
    const prefix = uniqueRedisPrefix('window-folds');
    const { client, counters, folding } = await setUp(prefix);
    const base = `${prefix}:{counters}`;
    const at = foldTarget(start); // 12:00, the hour the windows are folded to
    const hours = 166;
    const keys = {
      window: `${base}:w:${hours}`,
      marks: `${base}:w:marks`,
      folding: `${base}:w:folding`,
      added: `${base}:b:${UNIT_CODE.hour}:${at}`,
      left: `${base}:b:${UNIT_CODE.hour}:${at - hours * HOUR}`,
      addedTotal: `${base}:t:${UNIT_CODE.hour}:${at}`,
      leftTotal: `${base}:t:${UNIT_CODE.hour}:${at - hours * HOUR}`,
    };
    expect(await client.exists(keys.added)).toBe(1);
    let settled = false;
    const folded = foldInSlices(client, keys, hours, at, 2).finally(() => (settled = true));
    while (!(await folding())) {
      if (settled) throw new Error(`the fold ended (${await folded}) before it was seen under way`);
      await nextTurn();
    }
    // a late count into the hour under way: its ranks may have moved
    const late = { key: '/f/late', at: at + 59 * 60_000 };
    counters.increment(late.key, '', late.at);
    await counters.flush();
    expect(await folded).toBe('rebuild');
    expect(await client.exists(keys.window)).toBe(0);
    expect(await client.hget(keys.marks, String(hours))).toBeNull();
    const requests = [...made, ...hourAfter, late];
    // no window for 7 days: the buckets answer, exactly; the roll-up folds the others and builds it
    await check(counters, requests, later, [7 * DAY]);
    expect(await counters.rollUp(later)).toBe(3);
    expect(Number(await client.hget(keys.marks, String(hours)))).toBe(at + HOUR);
    await check(counters, requests);
    await counters.reset();
    await counters.close();
  });

  it('hands a fold to one folder when two run at once', async () => {
    const prefix = uniqueRedisPrefix('window-folds');
    const { counters } = await setUp(prefix);
    const second = new RedisCounters(await connect(), { prefix, timeoutMs: 10_000, windowSlice: 2 });
    const [one, two] = await Promise.all([counters.rollUp(later), second.rollUp(later)]);
    expect(one + two).toBe(3);
    await check(counters, [...made, ...hourAfter]);
    await counters.reset();
    await counters.close();
    await second.close();
  });
});
