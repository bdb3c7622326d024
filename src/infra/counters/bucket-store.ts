// The embedded driver's SQL for time buckets, unique visitors and day salts (one text for SQLite
// and PostgreSQL). A range is read as the union of the buckets that cover it (buckets.ts).
import { randomBytes } from 'node:crypto';
import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import type { BucketBatch } from './bucket-batch.js';
import { BOT_UNIT_CODE, type BucketRetention, type BucketSpan, type BucketUnit, UNITS, UNIT_CODE, unitCode, bucketStart, coverRange, retentionMs } from './buckets.js';
import type { BucketRow, CounterPage, TimeRange } from './contract.js';
import { estimate, registersOf } from './hyperloglog.js';
import { MERGED_MIN_BUCKETS, type MergedRegisters, SettledVisitorsCache, estimateWith, mergedOf, settledId, splitSettled } from './settled-visitors.js';
import { chunksOf } from '../db/chunks.js';
import { pacedTurns } from '../db/paced-turns.js';

export type BucketTables = {
  counters_buckets: { unit: string; start: number; key: string; count: number };
  counters_bucket_totals: { unit: string; start: number; total: number };
  counters_visitors: { key: string; unit: string; start: number; reg: number; rho: number };
  counters_salts: { day: string; salt: string };
};

type Covered = 'counters_buckets' | 'counters_visitors' | 'counters_bucket_totals';

/** rows a prune deletes a statement (a few milliseconds of SQLite) */
const PRUNE_SLICE = 5_000;
const PRIMARY_KEYS: Record<Covered, string[]> = {
  counters_buckets: ['unit', 'start', 'key'],
  counters_bucket_totals: ['unit', 'start'],
  counters_visitors: ['key', 'unit', 'start', 'reg'],
};

/** The rows of the buckets that cover the range; false when none do. */
export function covering<T extends Covered>(range: TimeRange, bots = false) {
  return coveringSpans<T>(coverRange(range.from, range.to, range.open), bots);
}

/** The rows of the buckets of these spans. */
export function coveringSpans<T extends Covered>(spans: BucketSpan[], bots = false) {
  return (eb: ExpressionBuilder<BucketTables, T>): Expression<SqlBool> => {
    if (spans.length === 0) return sql<SqlBool>`1 = 0`;
    return eb.or(spans.map((span) => eb.and([eb(sql.ref('unit'), '=', unitCode(span.unit, bots)), eb(sql.ref('start'), '>=', span.from), eb(sql.ref('start'), '<', span.to)])));
  };
}

export class BucketStore {
  /** each key's registers over a range's settled buckets (settled-visitors.ts) */
  private readonly settledVisitors = new SettledVisitorsCache();

  constructor(private readonly db: Kysely<BucketTables>) {}

  /** The counts of a batch, in one transaction (counts are not idempotent: written once, whole). */
  async addCounts(batch: Pick<BucketBatch, 'counts' | 'totals'>): Promise<void> {
    if (batch.counts.length === 0) return;
    // one lock order for every process, so two processes' batches cannot deadlock
    const counts = batch.counts.map((c) => ({ unit: unitCode(c.unit, c.bots), start: c.start, key: c.key, count: c.count })).sort(byRow);
    const totals = batch.totals.map((t) => ({ unit: UNIT_CODE[t.unit], start: t.start, total: t.count })).sort((a, b) => a.unit.localeCompare(b.unit) || a.start - b.start);
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < counts.length; i += 500) {
        await trx
          .insertInto('counters_buckets')
          .values(counts.slice(i, i + 500))
          .onConflict((c) => c.columns(['unit', 'start', 'key']).doUpdateSet({ count: sql`counters_buckets.count + excluded.count` }))
          .execute();
      }
      await trx
        .insertInto('counters_bucket_totals')
        .values(totals)
        .onConflict((c) => c.columns(['unit', 'start']).doUpdateSet({ total: sql`counters_bucket_totals.total + excluded.total` }))
        .execute();
    });
  }

  /** Merges visitor ids into the registers (max of ranks: writing twice changes nothing). */
  async addVisitors(sets: BucketBatch['visitors']): Promise<void> {
    const rows = [];
    for (const set of sets) {
      const unit = set.unit === 'all' ? 'a' : UNIT_CODE[set.unit];
      for (const [reg, rho] of registersOf(set.ids)) rows.push({ key: set.key, unit, start: set.start, reg, rho });
    }
    rows.sort((a, b) => byRow(a, b) || a.reg - b.reg);
    for (let i = 0; i < rows.length; i += 1_000) {
      await this.db
        .insertInto('counters_visitors')
        .values(rows.slice(i, i + 1_000))
        .onConflict((c) => c.columns(['key', 'unit', 'start', 'reg']).doUpdateSet({ rho: sql`case when excluded.rho > counters_visitors.rho then excluded.rho else counters_visitors.rho end` }))
        .execute();
    }
  }

  async top(limit: number, offset: number, range: TimeRange, bots = false): Promise<CounterPage> {
    const perKey = this.db.selectFrom('counters_buckets').where(covering(range, bots)).select((eb) => ['key', eb.fn.sum<number>('count').as('count')]).groupBy('key');
    const [entries, totals] = await Promise.all([
      perKey.orderBy('count', 'desc').orderBy('key', 'asc').limit(limit).offset(offset).execute(),
      this.db
        .selectFrom(perKey.as('k'))
        .select((eb) => [eb.fn.countAll<number>().as('unique'), eb.fn.coalesce(eb.fn.sum<number>('count'), sql<number>`0`).as('total')])
        .executeTakeFirstOrThrow(),
    ]);
    return { total: Number(totals.total), unique: Number(totals.unique), entries: entries.map((e) => ({ key: e.key, count: Number(e.count) })) };
  }

  /** Per key, the sum over several ranges (the edges of a ranked window: a few hours). */
  async sumsOver(ranges: TimeRange[]): Promise<Map<string, number>> {
    const sums = new Map<string, number>();
    for (const range of ranges) {
      const rows = await this.db.selectFrom('counters_buckets').where(covering(range)).select((eb) => ['key', eb.fn.sum<number>('count').as('count')]).groupBy('key').execute();
      for (const row of rows) sums.set(row.key, (sums.get(row.key) ?? 0) + Number(row.count));
    }
    return sums;
  }

  /** Every request in the range: the buckets' totals, never a scan of their keys. */
  async totalOver(range: TimeRange): Promise<number> {
    const row = await this.db
      .selectFrom('counters_bucket_totals')
      .where(covering(range))
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('total'), sql<number>`0`).as('total'))
      .executeTakeFirstOrThrow();
    return Number(row.total);
  }

  /** Counts per bucket start of one unit: of one key, or of every key. */
  async counts(unit: BucketUnit, range: TimeRange, key?: string): Promise<Map<number, number>> {
    const code = UNIT_CODE[unit];
    const rows =
      key === undefined
        ? await this.db.selectFrom('counters_bucket_totals').select(['start', 'total as count']).where('unit', '=', code).where('start', '>=', range.from).where('start', '<', range.to).execute()
        : await this.db.selectFrom('counters_buckets').select(['start', 'count']).where('unit', '=', code).where('key', '=', key).where('start', '>=', range.from).where('start', '<', range.to).execute();
    return new Map(rows.map((r) => [Number(r.start), Number(r.count)]));
  }

  /** Unique visitors per bucket start of one unit, of one key. */
  async visitorsPerBucket(unit: BucketUnit, range: TimeRange, key: string): Promise<Map<number, number>> {
    const rows = await this.db
      .selectFrom('counters_visitors')
      .select((eb) => ['start', eb.fn.countAll<number>().as('touched'), sql<number>`sum(1.0 / (cast(1 as bigint) << rho))`.as('inverse')])
      .where('key', '=', key)
      .where('unit', '=', UNIT_CODE[unit])
      .where('start', '>=', range.from)
      .where('start', '<', range.to)
      .groupBy('start')
      .execute();
    return new Map(rows.map((r) => [Number(r.start), estimate(Number(r.touched), Number(r.inverse))]));
  }

  /** Unique visitors of each key: all-time, or the union of the buckets covering the range. */
  async visitors(keys: string[], range?: TimeRange): Promise<Map<string, number>> {
    const found = new Map(keys.map((key) => [key, 0]));
    if (keys.length === 0) return found;
    if (range) {
      const now = Date.now();
      const split = splitSettled(coverRange(range.from, range.to, range.open), now);
      if (split.settledBuckets >= MERGED_MIN_BUCKETS) return this.visitorsWithSettled(keys, split, now);
    }
    const merged = this.db
      .selectFrom('counters_visitors')
      .select((eb) => ['key', 'reg', eb.fn.max('rho').as('rho')])
      .where('key', 'in', keys)
      .where(range ? covering(range) : (eb) => eb.and([eb('unit', '=', 'a'), eb('start', '=', 0)]))
      .groupBy(['key', 'reg']);
    const rows = await this.db
      .selectFrom(merged.as('r'))
      .select((eb) => ['key', eb.fn.countAll<number>().as('touched'), sql<number>`sum(1.0 / (cast(1 as bigint) << rho))`.as('inverse')])
      .groupBy('key')
      .execute();
    for (const row of rows) found.set(row.key, estimate(Number(row.touched), Number(row.inverse)));
    return found;
  }

  /** The settled buckets' registers from the cache (read and merged once per key), the open ones' read now. */
  private async visitorsWithSettled(keys: string[], split: ReturnType<typeof splitSettled>, now: number): Promise<Map<string, number>> {
    // the settled buckets' total in the name: a reset or a prune by any process changes it, so no
    // process answers from registers of buckets that are gone
    const stamp = await this.db.selectFrom('counters_bucket_totals').select((eb) => eb.fn.sum<number>('total').as('total')).where(coveringSpans(split.settled)).executeTakeFirst();
    const id = `${settledId(split.settled)}#${Number(stamp?.total ?? 0)}`;
    const merged = new Map<string, MergedRegisters>();
    const missing: string[] = [];
    for (const key of keys) {
      const cached = this.settledVisitors.get(id, key, now);
      if (cached) merged.set(key, cached);
      else missing.push(key);
    }
    if (missing.length) {
      const rows = await this.registersOf(missing, split.settled);
      for (const key of missing) {
        const registers = mergedOf(rows.get(key) ?? []);
        this.settledVisitors.set(id, key, registers, now);
        merged.set(key, registers);
      }
    }
    const open = await this.registersOf(keys, split.open);
    return new Map(keys.map((key) => [key, estimateWith(merged.get(key)!, open.get(key) ?? [])]));
  }

  /** Each key's registers over the spans, the highest rank per register. */
  private async registersOf(keys: string[], spans: BucketSpan[]): Promise<Map<string, { reg: number; rho: number }[]>> {
    const found = new Map<string, { reg: number; rho: number }[]>();
    if (spans.length === 0) return found;
    for (const chunk of chunksOf(keys)) {
      const rows = await this.db
        .selectFrom('counters_visitors')
        .select((eb) => ['key', 'reg', eb.fn.max('rho').as('rho')])
        .where('key', 'in', chunk)
        .where(coveringSpans(spans))
        .groupBy(['key', 'reg'])
        .execute();
      for (const row of rows) {
        let registers = found.get(row.key);
        if (!registers) found.set(row.key, (registers = []));
        registers.push({ reg: Number(row.reg), rho: Number(row.rho) });
      }
    }
    return found;
  }

  /** Unique visitors of each group of keys: its keys' registers merged (max rank per register), a chunk of keys per statement. */
  async unionVisitors(groups: string[][], range?: TimeRange): Promise<number[]> {
    const counts: number[] = [];
    for (const keys of groups) {
      const ranks = new Map<number, number>();
      for (const chunk of chunksOf(keys)) {
        const rows = await this.db
          .selectFrom('counters_visitors')
          .select((eb) => ['reg', eb.fn.max('rho').as('rho')])
          .where('key', 'in', chunk)
          .where(range ? covering(range) : (eb) => eb.and([eb('unit', '=', 'a'), eb('start', '=', 0)]))
          .groupBy('reg')
          .execute();
        for (const row of rows) ranks.set(Number(row.reg), Math.max(ranks.get(Number(row.reg)) ?? 0, Number(row.rho)));
      }
      let inverse = 0;
      for (const rank of ranks.values()) inverse += 2 ** -rank;
      counts.push(estimate(ranks.size, inverse));
    }
    return counts;
  }

  /** Rows in primary key order, after the (start, key) of the cursor: a keyset walk, never an OFFSET. */
  async exportPage(unit: BucketUnit, range: TimeRange, cursor: string | undefined, limit: number): Promise<{ rows: BucketRow[]; cursor: string | null }> {
    const after = cursor === undefined ? undefined : (JSON.parse(cursor) as [number, string]);
    const rows = await this.db
      .selectFrom('counters_buckets')
      .select(['start', 'key', 'count'])
      .where('unit', '=', UNIT_CODE[unit])
      .where('start', '>=', bucketStart(range.from, unit))
      .where('start', '<', range.to)
      .$if(after !== undefined, (q) => q.where((eb) => eb.or([eb('start', '>', after![0]), eb.and([eb('start', '=', after![0]), eb('key', '>', after![1])])])))
      .orderBy('start')
      .orderBy('key')
      .limit(limit)
      .execute();
    const page = rows.map((r) => ({ start: Number(r.start), key: r.key, count: Number(r.count) }));
    const last = page[page.length - 1];
    return { rows: page, cursor: page.length < limit ? null : JSON.stringify([last.start, last.key]) };
  }

  /**
   * Deletes buckets and registers that ended more than their retention ago, PRUNE_SLICE rows a
   * statement with a rest between (paced-turns.ts): a day of minute buckets of a million paths is
   * a million rows and more registers, and one DELETE of them held the write lock (and, before it
   * ran on a thread, the embedded process's event loop) for as long as it took.
   */
  async prune(now: number, retention: BucketRetention): Promise<number> {
    let deleted = 0;
    const nextTurn = pacedTurns();
    for (const unit of UNITS) {
      const keep = retentionMs(retention, unit);
      if (keep === undefined) continue;
      const before = now - keep;
      for (const table of ['counters_buckets', 'counters_bucket_totals', 'counters_visitors'] as const) {
        const codes = table === 'counters_buckets' ? [UNIT_CODE[unit], BOT_UNIT_CODE[unit]] : [UNIT_CODE[unit]];
        const columns = sql.join(PRIMARY_KEYS[table].map((column) => sql.ref(column)));
        for (;;) {
          const result = await sql`delete from ${sql.table(table)} where (${columns}) in (select ${columns} from ${sql.table(table)} where unit in (${sql.join(codes)}) and start < ${before} limit ${PRUNE_SLICE})`.execute(this.db);
          const rows = Number(result.numAffectedRows ?? 0);
          deleted += rows;
          if (rows < PRUNE_SLICE) break;
          await nextTurn();
        }
      }
    }
    return deleted;
  }

  async clear(): Promise<void> {
    this.settledVisitors.clear();
    await this.db.transaction().execute(async (trx) => {
      for (const table of ['counters_buckets', 'counters_bucket_totals', 'counters_visitors'] as const) await trx.deleteFrom(table).execute();
    });
  }

  async daySalt(day: string, today: string): Promise<string> {
    // a day already over has no salt to share: its ids are made with a salt nobody keeps
    if (day < today) return randomBytes(32).toString('hex');
    await this.db.insertInto('counters_salts').values({ day, salt: randomBytes(32).toString('hex') }).onConflict((c) => c.column('day').doNothing()).execute();
    // a salt is never kept past its day (tomorrow's may be made early, so the switch at midnight has no gap)
    await this.db.deleteFrom('counters_salts').where('day', '<', today).execute();
    const row = await this.db.selectFrom('counters_salts').select('salt').where('day', '=', day).executeTakeFirstOrThrow();
    return row.salt;
  }
}

function byRow(a: { unit: string; start: number; key: string }, b: { unit: string; start: number; key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : a.unit.localeCompare(b.unit) || a.start - b.start;
}
