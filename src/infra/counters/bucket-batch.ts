// What a batch of bucket increments becomes before a driver writes it. The request path only
// joins three strings (bucketEntryKey); grouping by minute, hour, day and visitor happens here,
// at write time, off the request path.
import { boundedKey } from './bounded-key.js';
import { BUCKET_MS, type BucketRetention, type BucketUnit, UNITS, bucketStart, retentionMs } from './buckets.js';
import { ALL_KEYS } from './contract.js';

/** The buffered form of one increment: its minute, its visitor (may be empty), whether a bot made it, and its key. */
export function bucketEntryKey(key: string, visitor: string, at: number, bot: boolean): string {
  return `${bucketStart(at, 'minute')}\t${visitor}\t${bot ? 'b' : ''}\t${boundedKey(key)}`;
}

export interface BucketCount {
  unit: BucketUnit;
  start: number;
  key: string;
  count: number;
  /** a count of bots' requests only (they are in the plain count too) */
  bots?: boolean;
}

/** 'all' is the all-time set of a key's visitors (start 0). */
export interface VisitorSet {
  unit: BucketUnit | 'all';
  start: number;
  key: string;
  ids: Set<string>;
}

export interface BucketBatch {
  counts: BucketCount[];
  /** per unit and start, the sum over every key */
  totals: { unit: BucketUnit; start: number; count: number }[];
  visitors: VisitorSet[];
}

export function splitBatch(entries: Iterable<[string, number]>): BucketBatch {
  const counts = new Map<string, BucketCount>();
  const totals = new Map<string, { unit: BucketUnit; start: number; count: number }>();
  const visitors = new Map<string, VisitorSet>();
  for (const [entry, count] of entries) {
    const first = entry.indexOf('\t');
    const second = entry.indexOf('\t', first + 1);
    const minute = Number(entry.slice(0, first));
    const third = entry.indexOf('\t', second + 1);
    const visitor = entry.slice(first + 1, second);
    const bot = third > second + 1;
    const key = entry.slice(third + 1);
    for (const unit of UNITS) {
      const start = bucketStart(minute, unit);
      if (count > 0) {
        add(counts, `${unit}\t${start}\t${key}`, () => ({ unit, start, key, count: 0 })).count += count;
        add(totals, `${unit}\t${start}`, () => ({ unit, start, count: 0 })).count += count;
        if (bot) add(counts, `bot\t${unit}\t${start}\t${key}`, () => ({ unit, start, key, count: 0, bots: true })).count += count;
      }
      if (visitor) for (const k of [key, ALL_KEYS]) add(visitors, `${unit}\t${start}\t${k}`, () => ({ unit, start, key: k, ids: new Set<string>() })).ids.add(visitor);
    }
    if (visitor) for (const k of [key, ALL_KEYS]) add(visitors, `all\t${k}`, () => ({ unit: 'all' as const, start: 0, key: k, ids: new Set<string>() })).ids.add(visitor);
  }
  return { counts: [...counts.values()], totals: [...totals.values()], visitors: [...visitors.values()] };
}

function add<T>(map: Map<string, T>, id: string, make: () => T): T {
  let value = map.get(id);
  if (value === undefined) map.set(id, (value = make()));
  return value;
}

/**
 * Leaves out buckets already past their retention (an increment dated far back): both drivers
 * keep exactly the same buckets, whether their store prunes by a job (SQL) or by expiry (Redis).
 */
export function withoutExpired(batch: BucketBatch, retention: BucketRetention, now: number): BucketBatch {
  const kept = (unit: BucketUnit | 'all', start: number) => {
    if (unit === 'all') return true;
    const keep = retentionMs(retention, unit);
    return keep === undefined || start + BUCKET_MS[unit] + keep > now;
  };
  return {
    counts: batch.counts.filter((c) => kept(c.unit, c.start)),
    totals: batch.totals.filter((c) => kept(c.unit, c.start)),
    visitors: batch.visitors.filter((v) => kept(v.unit, v.start)),
  };
}
