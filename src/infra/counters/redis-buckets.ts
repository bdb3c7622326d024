// The Redis driver's time buckets and visitors. Per bucket: a sorted set of negative counts (the
// same order as the all-time set), a total, and one HyperLogLog per key (PFADD/PFCOUNT). Every
// bucket key expires on its own when its retention ends (PEXPIREAT set as it is written), so
// nothing has to scan Redis to prune it. All keys share the {counters} hash tag: a range is read
// with one ZUNIONSTORE, and MULTIs work on Redis Cluster too.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BucketBatch } from './bucket-batch.js';
import { BUCKET_MS, type BucketRetention, type BucketUnit, UNIT_CODE, coverRange, unitCode, retentionMs, seriesStarts, startsOf } from './buckets.js';
import type { BucketRow, CounterEntry, CounterPage, TimeRange } from './contract.js';
import { MERGED_MIN_BUCKETS, MERGED_TTL_MS, settledBefore } from './settled-visitors.js';
import { type RankedWindowReader, type WindowMark, rankWindow, rollUpWindows, windowFor } from './ranked-windows.js';
import { sumWindowOffThread } from './redis-window-sums.js';
import { FOLD_SLICE, type FoldKeys, correctionsOf, cursorOf, foldInSlices } from './redis-window-folds.js';

// HLL keys one PFCOUNT or PFMERGE names at most (a route pattern of many paths over a long range has thousands)
const UNION_KEYS_PER_CALL = 1_000;
const HOUR = BUCKET_MS.hour;
// bucket entries a window build reads or writes per call: a few milliseconds of Redis each
const BUILD_SLICE = 10_000;
// a read of a window that a fold's slice overtook is made again (past these, the buckets answer)
const WINDOW_READ_ATTEMPTS = 5;
const BUILD_KEY_TTL_MS = 10 * 60_000;
// the windows' marks and fold cursors a read starts from are those read at most this long ago: a
// roll-up moves them every 10 minutes, and the last page read checks them (a stale pair is read again)
const WINDOW_STATE_TTL_MS = 1_000;
// edge keys the edges' script looks up in the window itself (more: chunks of ZMSCORE, short each)
const EDGE_KEYS_IN_SCRIPT = 1_000;

// A ranked read's edges in one call, where they were three round trips (each a socket write, the
// largest cost of a ranked read in this process under load): the edges' union (ZUNION, no key
// made), the window's counts of the edge keys (when few enough), the window's size, the range's
// totals. KEYS: the window, ARGV[1] edge sets, then the totals; ARGV[2]: the most keys to look up.
const EDGES_WITH_WINDOW = 'workyardEdgesWithWindow';
const EDGES_WITH_WINDOW_SCRIPT = `
local sets = tonumber(ARGV[1])
local flat = {}
if sets > 0 then
  -- unpack expands only as a call's last argument
  local union = { sets }
  for i = 2, sets + 1 do union[#union + 1] = KEYS[i] end
  union[#union + 1] = 'WITHSCORES'
  flat = redis.call('ZUNION', unpack(union))
end
local inWindow = {}
local looked = 0
if #flat > 0 and #flat / 2 <= tonumber(ARGV[2]) then
  local members = {}
  for i = 1, #flat, 2 do members[#members + 1] = flat[i] end
  inWindow = redis.call('ZMSCORE', KEYS[1], unpack(members))
  looked = 1
end
local totals = {}
if #KEYS > sets + 1 then totals = redis.call('MGET', unpack(KEYS, sets + 2, #KEYS)) end
return { flat, looked, inWindow, redis.call('ZCARD', KEYS[1]), totals }
`;

// The visitors of a range: PFCOUNT of many HLLs builds their union each call (at 30 HLLs a path,
// a -7d page of 100 paths was ~19 ms of Redis). The buckets of the range that can no longer change
// (they ended FOLD_DELAY_MS ago: increments buffered in API processes have landed) are merged once
// into one HLL per key, kept an hour (a range to now moves to other buckets within one), and each
// read counts that HLL with the buckets still open: 2–3 HLLs a path. PFCOUNT of one HLL answers
// from the estimate cached in it; of several it builds their union (~70 µs at 16,384 registers), so
// open HLLs that do not exist (no visitor of the key yet today) are left out of the call.
// Counts the merged HLL with the open HLLs that exist; when the merged one is not there yet, makes
// it from the settled HLLs first, or answers -1 when the call named none (KEYS: the merged HLL, the
// settled buckets' HLLs, the open ones'; ARGV: how many settled, the merged HLL's lifetime).
const COUNT_WITH_MERGED = 'workyardVisitorsWithMerged';
const COUNT_WITH_MERGED_SCRIPT = `
local settled = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then
  if settled == 0 then return -1 end
  redis.call('PFMERGE', KEYS[1], unpack(KEYS, 2, settled + 1))
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local open = {}
for i = settled + 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then open[#open + 1] = KEYS[i] end
end
if #open == 0 then return redis.call('PFCOUNT', KEYS[1]) end
return redis.call('PFCOUNT', KEYS[1], unpack(open))
`;
// The same count for a page of keys in one call (one command, not one per path: ioredis spent
// more of this process's time making and sending 101 commands a page than Redis spent on them).
// KEYS: per key its merged HLL then its ARGV[1] open HLLs; answers one count per key, -1 where
// the merged HLL is not there yet (the caller makes it with the call above).
const COUNT_PAGE_WITH_MERGED = 'workyardVisitorsPageWithMerged';
const COUNT_PAGE_WITH_MERGED_SCRIPT = `
local open = tonumber(ARGV[1])
local counts = {}
for i = 1, #KEYS, open + 1 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    counts[#counts + 1] = -1
  else
    local present = { KEYS[i] }
    for j = i + 1, i + open do
      if redis.call('EXISTS', KEYS[j]) == 1 then present[#present + 1] = KEYS[j] end
    end
    counts[#counts + 1] = redis.call('PFCOUNT', unpack(present))
  end
end
return counts
`;
// keys one page call names at most (Lua's stack and one reply's size stay small)
const PAGE_KEYS_PER_CALL = 1_000;
type ScriptCall = (...args: (string | number)[]) => void;
// every script of this driver, defined on the client once (EVALSHA: the text is not sent with every call)
const SCRIPTS: Record<string, string> = {
  [EDGES_WITH_WINDOW]: EDGES_WITH_WINDOW_SCRIPT,
  [COUNT_WITH_MERGED]: COUNT_WITH_MERGED_SCRIPT,
  [COUNT_PAGE_WITH_MERGED]: COUNT_PAGE_WITH_MERGED_SCRIPT,
};

export class RedisBuckets {
  constructor(
    private readonly redis: Redis,
    private readonly base: string,
    private readonly retention: BucketRetention,
    private readonly slice = BUILD_SLICE,
    private readonly foldSlice = FOLD_SLICE,
    private readonly edgeLookups = EDGE_KEYS_IN_SCRIPT,
  ) {
    for (const [name, lua] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, { lua });
  }

  countsKey(unit: BucketUnit, start: number, bots = false): string {
    return `${this.base}:b:${unitCode(unit, bots)}:${start}`;
  }

  totalKey(unit: BucketUnit, start: number): string {
    return `${this.base}:t:${UNIT_CODE[unit]}:${start}`;
  }

  visitorsKey(unit: BucketUnit | 'all', start: number, key: string): string {
    return `${this.base}:v:${unit === 'all' ? 'a' : UNIT_CODE[unit]}:${start}:${key}`;
  }

  /** Adds a batch to a MULTI: counts, totals, visitors, and each touched key's expiry. */
  write(multi: ReturnType<Redis['multi']>, batch: BucketBatch): void {
    const expiries = new Map<string, number | undefined>();
    for (const c of batch.counts) {
      const key = this.countsKey(c.unit, c.start, c.bots);
      multi.zincrby(key, -c.count, c.key);
      expiries.set(key, this.expiresAt(c.unit, c.start));
    }
    for (const t of batch.totals) {
      const key = this.totalKey(t.unit, t.start);
      multi.incrby(key, t.count);
      expiries.set(key, this.expiresAt(t.unit, t.start));
    }
    for (const v of batch.visitors) {
      const key = this.visitorsKey(v.unit, v.start, v.key);
      multi.pfadd(key, ...v.ids);
      expiries.set(key, v.unit === 'all' ? undefined : this.expiresAt(v.unit, v.start));
    }
    for (const [key, at] of expiries) if (at !== undefined) multi.pexpireat(key, at);
  }

  private expiresAt(unit: BucketUnit, start: number): number | undefined {
    const keep = retentionMs(this.retention, unit);
    return keep === undefined ? undefined : start + BUCKET_MS[unit] + keep;
  }

  /**
   * The keys of the buckets that cover the range, less those past their retention (Redis has
   * expired them): a -7d range names no minute of its first hour, and per path that is up to 59
   * keys fewer for PFCOUNT to look up.
   */
  private coveringKeys(range: TimeRange, keyOf: (unit: BucketUnit, start: number) => string): string[] {
    return this.coveringBuckets(range).map(({ unit, start }) => keyOf(unit, start));
  }

  private coveringBuckets(range: TimeRange): { unit: BucketUnit; start: number }[] {
    const now = Date.now();
    return coverRange(range.from, range.to, range.open).flatMap((span) => {
      const expiresAt = this.expiresAt(span.unit, span.from);
      if (expiresAt !== undefined && expiresAt + (span.to - span.from) <= now) return [];
      return startsOf(span).flatMap((start) => (expiresAt !== undefined && this.expiresAt(span.unit, start)! <= now ? [] : [{ unit: span.unit, start }]));
    });
  }

  /** Each key's HLLs over the range (the range's cover worked out once, not once per key). */
  private visitorKeysOf(keys: string[], range?: TimeRange): string[][] {
    if (!range) return keys.map((key) => [this.visitorsKey('all', 0, key)]);
    const buckets = this.coveringBuckets(range);
    return keys.map((key) => buckets.map(({ unit, start }) => this.visitorsKey(unit, start, key)));
  }

  /** The merged HLL of a key's closed buckets: named by those buckets, so a range over others merges its own. */
  private mergedVisitorsKey(closedId: string, key: string): string {
    return `${this.base}:v:merged:${closedId}:${key}`;
  }

  /** Ranked windows (ranked-windows.ts): a sorted set each, as the buckets', and their marks in one hash. */
  windowKey(hours: number): string {
    return `${this.base}:w:${hours}`;
  }

  private get marksKey(): string {
    return `${this.base}:w:marks`;
  }

  private get foldingKey(): string {
    return `${this.base}:w:folding`;
  }

  async windowMarks(): Promise<WindowMark[]> {
    return marksOf(await this.redis.hgetall(this.marksKey));
  }

  private foldKeys(hours: number, at: number): FoldKeys {
    const left = at - hours * HOUR;
    return {
      window: this.windowKey(hours),
      marks: this.marksKey,
      folding: this.foldingKey,
      added: this.countsKey('hour', at),
      left: this.countsKey('hour', left),
      addedTotal: this.totalKey('hour', at),
      leftTotal: this.totalKey('hour', left),
    };
  }

  /** Brings each window up to the last hour closed at `now`; the hours folded (a build counts as one). */
  async rollUp(windows: number[], now: number): Promise<number> {
    let dropped = false;
    const steps = {
      build: (hours: number, target: number) => this.buildWindow(hours, target),
      fold: async (hours: number, at: number) => {
        const outcome = await foldInSlices(this.redis, this.foldKeys(hours, at), hours, at, this.foldSlice);
        if (outcome === 'rebuild') dropped = true;
        return outcome === 'folded';
      },
    };
    const folded = await rollUpWindows(windows, await this.windowMarks(), now, steps);
    // a fold that dropped its window (a count came into a folded hour): the window built afresh now
    return dropped ? folded + (await rollUpWindows(windows, await this.windowMarks(), now, steps)) : folded;
  }

  /**
   * The window afresh: the sum per key of the buckets that cover it (whole days, hours at the ends),
   * as a range is read without a window. Not one ZUNIONSTORE: over 30 day sets of a million paths
   * that holds Redis (and every queue and counter on it) for half a minute. The sets are read and
   * summed a slice of ranks at a time, on a thread of its own (redis-window-sums.ts: a million keys
   * summed in a Map pause the event loop in every collection), written to a key of the build's own a
   * slice at a time (milliseconds of Redis each), and that key renamed over the window with its mark
   * in one MULTI: readers see the old window or the new one, and two builders of one target write
   * the same. Summing in Node rather than by ZINCRBY in a script: a third of the time, and of
   * Redis's work a read of each entry instead of a sorted-set update (bench:stats-windows).
   */
  private async buildWindow(hours: number, target: number): Promise<void> {
    const sets = this.coveringKeys({ from: target - hours * HOUR, to: target }, (unit, at) => this.countsKey(unit, at));
    const window = this.windowKey(hours);
    // the same hash slot as the window (RENAME on a cluster); gone by itself should this process stop
    const building = `${window}:building:${randomUUID()}`;
    const keys = await sumWindowOffThread(this.redis, { sets, slice: this.slice, building, ttlMs: BUILD_KEY_TTL_MS });
    const swap = this.redis.multi();
    if (keys) swap.rename(building, window).persist(window);
    else swap.del(window);
    throwFirstError(await swap.hset(this.marksKey, String(hours), String(target)).exec());
  }

  /**
   * A range that ends now, from a ranked window and its edges; null when no window serves it. The
   * window is read in several calls, between which a fold's slice may land (redis-window-folds.ts):
   * the marks and the folds' cursors are read before and after, and a read they do not agree on
   * is made again.
   */
  private async fromWindow(limit: number, offset: number, range: TimeRange): Promise<CounterPage | null> {
    for (let attempt = 0; attempt < WINDOW_READ_ATTEMPTS; attempt++) {
      const recent = attempt === 0 ? this.recentWindowState() : undefined;
      const before = recent ?? (await this.windowState());
      const use = windowFor(range, marksOf(before.marks));
      // marks read a moment ago may predate a window built since: asked afresh before the buckets answer
      if (!use && recent) continue;
      if (!use) return null;
      const foldedTo = Number(before.marks[use.hours]);
      const [{ edges, total, known }, corrections] = await Promise.all([
        this.edgesOf(use.edges, range, use.hours),
        correctionsOf(this.redis, this.foldKeys(use.hours, foldedTo), cursorOf(before.folding, use.hours)),
      ]);
      // the keys a fold under way has moved on by an hour count as edges, their counts made right
      for (const [key, correction] of corrections) edges.set(key, (edges.get(key) ?? 0) + correction);
      // the window's last read (a page) brings its mark and cursor along: no call of its own to check them
      let after: FoldState | undefined;
      const page = await rankWindow(this.windowReader(use.hours, (state) => (after = state), known), edges, limit, offset, total);
      after ??= await this.foldState(use.hours); // an empty window: no page was read
      if (after.mark === (before.marks[use.hours] ?? null) && after.cursor === (before.folding[use.hours] ?? null)) return page;
      this.lastWindowState = undefined;
    }
    return null;
  }

  private lastWindowState?: WindowState & { readAt: number };

  private recentWindowState(): WindowState | undefined {
    const last = this.lastWindowState;
    return last && Date.now() - last.readAt < WINDOW_STATE_TTL_MS ? last : undefined;
  }

  private async windowState(): Promise<WindowState> {
    const readAt = Date.now();
    const [marks, folding] = throwFirstError(await this.redis.multi().hgetall(this.marksKey).hgetall(this.foldingKey).exec()) as Record<string, string>[];
    this.lastWindowState = { marks, folding, readAt };
    return { marks, folding };
  }

  /** The edges' sums per key and the range's total, with what the window holds of those keys (`known`). */
  private async edgesOf(spans: TimeRange[], range: TimeRange, hours: number): Promise<{ edges: Map<string, number>; total: number; known: KnownInWindow }> {
    const edgeSets = spans.flatMap((edge) => this.coveringKeys(edge, (unit, start) => this.countsKey(unit, start)));
    const totals = this.coveringKeys(range, (unit, start) => this.totalKey(unit, start));
    const keys = [this.windowKey(hours), ...edgeSets, ...totals];
    const scripts = this.redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
    const [flat, looked, scores, size, sums] = (await scripts[EDGES_WITH_WINDOW](keys.length, ...keys, edgeSets.length, this.edgeLookups)) as [string[], number, (string | null)[], number, (string | null)[]];
    const edges = new Map<string, number>();
    const known: KnownInWindow = { size: Number(size), looked: new Set(), counts: new Map() };
    for (let i = 0; i < flat.length; i += 2) {
      edges.set(flat[i], -Number(flat[i + 1]));
      if (!looked) continue;
      known.looked.add(flat[i]);
      const score = scores[i / 2];
      if (score !== null && score !== undefined) known.counts.set(flat[i], -Number(score));
    }
    return { edges, total: sums.reduce((sum, n) => sum + Number(n ?? 0), 0), known };
  }

  private async foldState(hours: number): Promise<FoldState> {
    const [mark, cursor] = throwFirstError(await this.redis.multi().hget(this.marksKey, String(hours)).hget(this.foldingKey, String(hours)).exec()) as (string | null)[];
    return { mark, cursor };
  }

  /**
   * `seen`: the window's mark and fold cursor as each page was read (pages are a reader's last
   * calls). `known`: the window's size and counts of keys already read with the edges.
   */
  private windowReader(hours: number, seen?: (state: FoldState) => void, known?: KnownInWindow): RankedWindowReader {
    const key = this.windowKey(hours);
    return {
      page: async (offset, limit) => {
        const results = await this.redis.multi().zrange(key, offset, offset + limit - 1, 'WITHSCORES').hget(this.marksKey, String(hours)).hget(this.foldingKey, String(hours)).exec();
        const [flat, mark, cursor] = throwFirstError(results) as [string[], string | null, string | null];
        seen?.({ mark, cursor });
        return entriesOf(flat);
      },
      countsOf: async (keys) => {
        const counts = new Map<string, number>();
        const unknown = known ? keys.filter((k) => !known.looked.has(k)) : keys;
        if (known) for (const k of keys) if (known.counts.has(k)) counts.set(k, known.counts.get(k)!);
        for (let i = 0; i < unknown.length; i += 1_000) {
          const chunk = unknown.slice(i, i + 1_000);
          const scores = await this.redis.zmscore(key, ...chunk);
          chunk.forEach((k, j) => {
            if (scores[j] !== null) counts.set(k, -Number(scores[j]));
          });
        }
        return counts;
      },
      size: async () => known?.size ?? this.redis.zcard(key),
    };
  }

  async top(limit: number, offset: number, range: TimeRange, bots = false): Promise<CounterPage> {
    if (!bots) {
      const ranked = await this.fromWindow(limit, offset, range);
      if (ranked) return ranked;
    }
    const sets = this.coveringKeys(range, (unit, start) => this.countsKey(unit, start, bots));
    if (sets.length === 0) return { total: 0, unique: 0, entries: [] };
    const totals = this.coveringKeys(range, (unit, start) => this.totalKey(unit, start));
    // the union is made and dropped in one MULTI: no other client sees it, none is left behind
    const union = `${this.base}:tmp:${randomUUID()}`;
    const results = await this.redis
      .multi()
      .zunionstore(union, sets.length, ...sets)
      .zrange(union, offset, offset + limit - 1, 'WITHSCORES')
      .zcard(union)
      .mget(...totals)
      .unlink(union)
      .exec();
    const [, range_, unique, sums] = throwFirstError(results) as [number, string[], number, (string | null)[]];
    const entries = [];
    for (let i = 0; i < range_.length; i += 2) entries.push({ key: range_[i], count: -Number(range_[i + 1]) });
    // bots keep no totals of their own: their total is the sum of their (few) counts
    const total = bots ? await this.sumOf(union, sets) : sums.reduce((sum, n) => sum + Number(n ?? 0), 0);
    return { total, unique: Number(unique), entries };
  }

  private async sumOf(union: string, sets: string[]): Promise<number> {
    const results = await this.redis.multi().zunionstore(union, sets.length, ...sets).zrange(union, 0, -1, 'WITHSCORES').unlink(union).exec();
    const flat = throwFirstError(results)[1] as string[];
    let total = 0;
    for (let i = 1; i < flat.length; i += 2) total -= Number(flat[i]);
    return total;
  }

  async counts(unit: BucketUnit, range: TimeRange, key?: string): Promise<Map<number, number>> {
    const starts = seriesStarts(unit, range.from, range.to);
    if (starts.length === 0) return new Map();
    if (key === undefined) {
      const totals = await this.redis.mget(...starts.map((start) => this.totalKey(unit, start)));
      return new Map(starts.map((start, i) => [start, Number(totals[i] ?? 0)]));
    }
    const pipeline = this.redis.pipeline();
    for (const start of starts) pipeline.zscore(this.countsKey(unit, start), key);
    const scores = throwFirstError(await pipeline.exec()) as (string | null)[];
    return new Map(starts.map((start, i) => [start, -Number(scores[i] ?? 0)]));
  }

  async visitorsPerBucket(unit: BucketUnit, range: TimeRange, key: string): Promise<Map<number, number>> {
    const starts = seriesStarts(unit, range.from, range.to);
    if (starts.length === 0) return new Map();
    const pipeline = this.redis.pipeline();
    for (const start of starts) pipeline.pfcount(this.visitorsKey(unit, start, key));
    const counts = throwFirstError(await pipeline.exec()) as number[];
    return new Map(starts.map((start, i) => [start, Number(counts[i])]));
  }

  /** PFCOUNT over several keys estimates their union: the visitors of the whole range. */
  async visitors(keys: string[], range?: TimeRange): Promise<Map<string, number>> {
    if (keys.length === 0) return new Map();
    const buckets = range ? this.coveringBuckets(range) : [];
    const settled = settledBefore(Date.now());
    const closed = buckets.filter(({ unit, start }) => start + BUCKET_MS[unit] <= settled);
    if (closed.length >= MERGED_MIN_BUCKETS) {
      return this.visitorsWithMerged(keys, closed, buckets.filter(({ unit, start }) => start + BUCKET_MS[unit] > settled));
    }
    const pipeline = this.redis.pipeline();
    for (const hlls of this.visitorKeysOf(keys, range)) {
      if (hlls.length === 0) pipeline.echo('0');
      else pipeline.pfcount(...hlls);
    }
    const counts = throwFirstError(await pipeline.exec());
    return new Map(keys.map((key, i) => [key, Number(counts[i])]));
  }

  /**
   * Each key's merged HLL with the open ones, and only for keys whose merged HLL is not there yet
   * (the first read of the hour) the settled HLLs to make it from: a page's commands name two or
   * three keys a path, not thirty (sending thirty was most of this process's time).
   */
  private async visitorsWithMerged(keys: string[], closed: { unit: BucketUnit; start: number }[], open: { unit: BucketUnit; start: number }[]): Promise<Map<string, number>> {
    const closedId = createHash('sha1')
      .update(closed.map(({ unit, start }) => `${UNIT_CODE[unit]}${start}`).join(','))
      .digest('base64url')
      .slice(0, 16);
    const openKeys = (key: string) => open.map(({ unit, start }) => this.visitorsKey(unit, start, key));
    const counting = this.redis.pipeline() as unknown as Record<string, ScriptCall> & ReturnType<Redis['pipeline']>;
    const perCall = Math.max(1, Math.floor(PAGE_KEYS_PER_CALL / (1 + open.length)));
    for (let i = 0; i < keys.length; i += perCall) {
      const hlls = keys.slice(i, i + perCall).flatMap((key) => [this.mergedVisitorsKey(closedId, key), ...openKeys(key)]);
      counting[COUNT_PAGE_WITH_MERGED](hlls.length, ...hlls, open.length);
    }
    const counts = (throwFirstError(await counting.exec()) as number[][]).flat().map(Number);
    const missing = keys.flatMap((key, i) => (counts[i] < 0 ? [i] : []));
    if (missing.length) {
      const merging = this.redis.pipeline() as unknown as Record<string, ScriptCall> & ReturnType<Redis['pipeline']>;
      for (const i of missing) {
        const hlls = [this.mergedVisitorsKey(closedId, keys[i]), ...closed.map(({ unit, start }) => this.visitorsKey(unit, start, keys[i])), ...openKeys(keys[i])];
        merging[COUNT_WITH_MERGED](hlls.length, ...hlls, closed.length, MERGED_TTL_MS);
      }
      const merged = throwFirstError(await merging.exec()) as number[];
      missing.forEach((i, j) => (counts[i] = Number(merged[j])));
    }
    return new Map(keys.map((key, i) => [key, counts[i]]));
  }


  /**
   * PFCOUNT of every HLL of a group's keys: their union. Past UNION_KEYS_PER_CALL HLLs, they are
   * merged a chunk at a time into a temporary key of the same hash slot, counted, and removed.
   */
  async unionVisitors(groups: string[][], range?: TimeRange): Promise<number[]> {
    const counts: number[] = [];
    for (const keys of groups) {
      const hlls = this.visitorKeysOf(keys, range).flat();
      if (hlls.length === 0) counts.push(0);
      else if (hlls.length <= UNION_KEYS_PER_CALL) counts.push(await this.redis.pfcount(...hlls));
      else {
        const merged = `${this.base}:union:${randomUUID()}`;
        try {
          for (let i = 0; i < hlls.length; i += UNION_KEYS_PER_CALL) {
            await this.redis.pfmerge(merged, ...hlls.slice(i, i + UNION_KEYS_PER_CALL));
            // gone by itself should this process stop before removing it
            if (i === 0) await this.redis.pexpire(merged, 60_000);
          }
          counts.push(await this.redis.pfcount(merged));
        } finally {
          await this.redis.del(merged);
        }
      }
    }
    return counts;
  }

  /** The cursor is the bucket's start and a rank in it: ZRANGE by rank, O(log n) a page. */
  async exportPage(unit: BucketUnit, range: TimeRange, cursor: string | undefined, limit: number): Promise<{ rows: BucketRow[]; cursor: string | null }> {
    const starts = seriesStarts(unit, range.from, range.to);
    let [start, rank] = cursor === undefined ? [starts[0], 0] : (JSON.parse(cursor) as [number, number]);
    const rows: BucketRow[] = [];
    while (start !== undefined && start < range.to && rows.length < limit) {
      const flat = await this.redis.zrange(this.countsKey(unit, start), rank, rank + (limit - rows.length) - 1, 'WITHSCORES');
      for (let i = 0; i < flat.length; i += 2) rows.push({ start, key: flat[i], count: -Number(flat[i + 1]) });
      if (rows.length < limit) {
        start += BUCKET_MS[unit];
        rank = 0;
      } else rank += flat.length / 2;
    }
    return { rows, cursor: start !== undefined && start < range.to ? JSON.stringify([start, rank]) : null };
  }

  /** Deletes every bucket and visitor key (the all-time set and total are the caller's). */
  async clear(): Promise<void> {
    for (const kind of ['b', 't', 'v', 'w']) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.base}:${kind}:*`, 'COUNT', 1_000);
        if (keys.length) await this.redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  }

  /** The salt key expires at the end of its day: Redis itself never keeps it longer. */
  async daySalt(day: string, now: number): Promise<string> {
    const endOfDay = Date.parse(`${day}T00:00:00Z`) + BUCKET_MS.day;
    const key = `${this.base}:salt:${day}`;
    // a day already over has no salt to share: its ids are made with a salt nobody keeps
    if (endOfDay <= now) return randomBytes(32).toString('hex');
    const [, salt] = throwFirstError(await this.redis.multi().set(key, randomBytes(32).toString('hex'), 'PXAT', endOfDay, 'NX').get(key).exec()) as [unknown, string];
    return salt;
  }
}

/** A sorted set's flat [member, score, …] of negative counts, as entries. */
function entriesOf(flat: string[]): CounterEntry[] {
  const entries = [];
  for (let i = 0; i < flat.length; i += 2) entries.push({ key: flat[i], count: -Number(flat[i + 1]) });
  return entries;
}

/** MULTI and pipelines report errors per command instead of rejecting. */
export function throwFirstError(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('redis discarded the transaction');
  for (const [error] of results) if (error) throw error;
  return results.map(([, value]) => value);
}

/** The windows' marks and fold cursors (hashes by window hours), as one read saw them. */
interface WindowState {
  marks: Record<string, string>;
  folding: Record<string, string>;
}

/** What a read of the edges found of their keys in the window, and the window's size. */
interface KnownInWindow {
  size: number;
  /** the keys looked up (none when the edges had too many keys for one call) */
  looked: Set<string>;
  counts: Map<string, number>;
}

/** A window's mark and the cursor of a fold under way (null: none), as one read saw them. */
interface FoldState {
  mark: string | null;
  cursor: string | null;
}

function marksOf(marks: Record<string, string>): WindowMark[] {
  return Object.entries(marks).map(([hours, foldedTo]) => ({ hours: Number(hours), foldedTo: Number(foldedTo) }));
}
