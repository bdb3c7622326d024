// Benchmark part for issue #20: ranked paths over a range with many paths × 30 day buckets, on
// Redis and on SQLite, and the storage a path-day takes. The buckets are filled straight into the
// stores (as the drivers write them) so the fill does not take the run's time.
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { createHash } from 'node:crypto';
import { BUCKET_MS, bucketStart } from '../src/infra/counters/buckets.js';
import { ALL_KEYS } from '../src/infra/counters/contract.js';
import { registersOf } from '../src/infra/counters/hyperloglog.js';
import { tablesOf } from '../test/support/tables.js';
import type { TestWorkyard } from '../test/support/workyard.js';

export const RANGE_DAYS = 30;

/**
 * The RANGE_DAYS days before today: whole days that are over. Only day buckets are filled, and a
 * day under way must agree with its hours and minutes (a range to now reads today's day bucket in
 * their stead: TimeRange.open).
 */
const dayStarts = () => {
  const today = bucketStart(Date.now(), 'day');
  return Array.from({ length: RANGE_DAYS }, (_, i) => today - (i + 1) * BUCKET_MS.day);
};
/** Every path is seen every day (the paths × days), counts skewed like real traffic. */
const countOn = (i: number, day: number) => 1 + Math.floor(1_000 * (((i * 7919 + day * 104_729) % 1_000_003) / 1_000_003) ** 6);

export async function fillRedisDays(client: Redis, prefix: string, paths: number): Promise<{ members: number; bytes: number }> {
  let members = 0;
  let bytes = 0;
  for (const [d, start] of dayStarts().entries()) {
    const key = `${prefix}:{counters}:b:d:${start}`;
    let total = 0;
    for (let from = 0; from < paths; from += 10_000) {
      const args: (string | number)[] = [];
      for (let i = from; i < Math.min(paths, from + 10_000); i++) {
        const count = countOn(i, d);
        if (count) args.push(-count, `/api/bench/${i}/`);
        total += count;
      }
      if (args.length) await client.zadd(key, ...args);
      members += args.length / 2;
    }
    await client.set(`${prefix}:{counters}:t:d:${start}`, total);
    bytes += Number(await client.memory('USAGE', key));
  }
  return { members, bytes };
}

export async function fillSqliteDays(wy: TestWorkyard, paths: number): Promise<{ rows: number; bytes: number }> {
  const db = tablesOf(wy.workyard.ctx.database);
  const pages = async () => {
    const count = await sql<{ page_count: number }>`pragma page_count`.execute(db);
    const size = await sql<{ page_size: number }>`pragma page_size`.execute(db);
    return count.rows[0].page_count * size.rows[0].page_size;
  };
  const before = await pages();
  let rows = 0;
  for (const [d, start] of dayStarts().entries()) {
    let total = 0;
    await db.transaction().execute(async (trx) => {
      for (let from = 0; from < paths; from += 500) {
        const values = [];
        for (let i = from; i < Math.min(paths, from + 500); i++) {
          const count = countOn(i, d);
          if (count) values.push({ unit: 'd', start, key: `/api/bench/${i}/`, count });
          total += count;
        }
        if (values.length) await trx.insertInto('counters_buckets').values(values).execute();
        rows += values.length;
      }
    });
    // today's row may be there already: the app counted its own requests
    await db.insertInto('counters_bucket_totals').values({ unit: 'd', start, total }).onConflict((c) => c.columns(['unit', 'start']).doUpdateSet({ total: sql`counters_bucket_totals.total + excluded.total` })).execute();
  }
  return { rows, bytes: (await pages()) - before };
}

/**
 * Visitors where a page of the range reads them: the `top` paths of the last 7 days (the first
 * page of the range) get one visitor HLL per day, as many distinct visitors as requests that day,
 * and the all-paths HLL per day gets `allPerDay` visitors. Without them every PFCOUNT of a page
 * finds no HLL, and a page's visitors cost nothing they cost in use.
 */
export interface VisitorSet {
  start: number;
  key: string;
  visitors: number;
  /** what the ids are made from: the same ids on every run */
  seed: string;
}

export function visitorFill(paths: number, top: number, allPerDay: number): VisitorSet[] {
  const days = dayStarts();
  const sums = new Float64Array(paths);
  for (let i = 0; i < paths; i++) for (let d = 0; d < 7; d++) sums[i] += countOn(i, d);
  const ranked = Array.from({ length: paths }, (_, i) => i).sort((a, b) => sums[b] - sums[a]).slice(0, top);
  const sets: VisitorSet[] = [];
  for (const [d, start] of days.entries()) {
    for (const i of ranked) sets.push({ start, key: `/api/bench/${i}/`, visitors: countOn(i, d), seed: `${d}-${i}` });
    sets.push({ start, key: ALL_KEYS, visitors: allPerDay, seed: `${d}-all` });
  }
  return sets;
}

/** A set's visitor ids, made when written (millions of them in all: never held at once). */
const idsOf = (set: VisitorSet) => Array.from({ length: set.visitors }, (_, j) => createHash('sha256').update(`${set.seed}-${j}`).digest('hex'));

export async function fillRedisVisitors(client: Redis, prefix: string, sets: VisitorSet[]): Promise<void> {
  for (let i = 0; i < sets.length; i += 50) {
    const pipeline = client.pipeline();
    for (const set of sets.slice(i, i + 50)) pipeline.pfadd(`${prefix}:{counters}:v:d:${set.start}:${set.key}`, ...idsOf(set));
    await pipeline.exec();
  }
}

export async function fillSqliteVisitors(wy: TestWorkyard, sets: VisitorSet[]): Promise<void> {
  const db = tablesOf(wy.workyard.ctx.database);
  await db.transaction().execute(async (trx) => {
    for (const set of sets) {
      const rows = [...registersOf(idsOf(set))].map(([reg, rho]) => ({ key: set.key, unit: 'd', start: set.start, reg, rho }));
      for (let i = 0; i < rows.length; i += 500) await trx.insertInto('counters_visitors').values(rows.slice(i, i + 500)).execute();
    }
  });
}
