// An hour folded into a Redis ranked window a slice of keys at a time.
//
// One script for the whole hour held Redis for its ~42,000 ZINCRBYs (a day of a million paths:
// ~80 ms a fold, 89 folds back to back), and with it every client of that Redis — queue, counters,
// rate limits — and a core of the machine (bench:stats-rollup: the API's p99 1.67 × without the
// job). Here each call adds a slice of the hour's keys (by rank) and takes off the same ranks of
// the hour that left the window, and the folder rests as long as the call took before the next
// (paced-turns.ts). The window's mark stays at the hour until the last slice moves it; a cursor
// beside it (the `folding` hash) says how many ranks are folded, so that
//   - a second folder finds the cursor moved and folds nothing,
//   - a folder that died leaves the cursor where the next one resumes, and
//   - readers know which keys are folded (correctionsOf) and read exactly between slices.
// Ranks are stable only while the two hours do not change. They are closed hours (folded
// FOLD_DELAY_MS after they end, when every buffered increment has landed), but should a count
// still come into one, its total changes: the fold sees it at its next slice, drops the window
// and answers 'rebuild' (the window is then built afresh from the buckets).
import type { Redis } from 'ioredis';
import { pacedTurns } from '../db/paced-turns.js';
import { BUCKET_MS } from './buckets.js';

/** ranks of each hour one call folds: a few milliseconds of Redis */
export const FOLD_SLICE = 1_000;

export interface FoldKeys {
  window: string;
  /** hash: window hours → the hour folded to */
  marks: string;
  /** hash: window hours → ranks folded of the hour under way; `<hours>:totals` → the hours' totals when it began */
  folding: string;
  /** the hour added, the hour taken off, and their totals */
  added: string;
  left: string;
  addedTotal: string;
  leftTotal: string;
}

// KEYS: window, marks, folding, added, left, added total, left total.
// ARGV: window hours, the hour, the cursor the caller read, slice.
// Returns the new cursor, 0 when the hour is folded, -1 when another folder moved the mark or the
// cursor, -2 when a count came into either hour since the fold began (the window is dropped).
const FOLD_SLICE_SCRIPT = `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return -1 end
local cursor = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if cursor ~= tonumber(ARGV[3]) then return -1 end
local totalsField = ARGV[1] .. ':totals'
local totals = (redis.call('GET', KEYS[6]) or '0') .. '/' .. (redis.call('GET', KEYS[7]) or '0')
if cursor == 0 then
  redis.call('HSET', KEYS[3], totalsField, totals)
elseif redis.call('HGET', KEYS[3], totalsField) ~= totals then
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1], totalsField)
  return -2
end
local slice = tonumber(ARGV[4])
local last = cursor + slice - 1
local added = redis.call('ZRANGE', KEYS[4], cursor, last, 'WITHSCORES')
for i = 1, #added, 2 do redis.call('ZINCRBY', KEYS[1], added[i + 1], added[i]) end
local left = redis.call('ZRANGE', KEYS[5], cursor, last, 'WITHSCORES')
for i = 1, #left, 2 do redis.call('ZINCRBY', KEYS[1], -tonumber(left[i + 1]), left[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, '+inf')
if #added < 2 * slice and #left < 2 * slice then
  redis.call('HSET', KEYS[2], ARGV[1], tostring(tonumber(ARGV[2]) + ${BUCKET_MS.hour}))
  redis.call('HDEL', KEYS[3], ARGV[1], totalsField)
  return 0
end
redis.call('HSET', KEYS[3], ARGV[1], tostring(cursor + slice))
return cursor + slice
`;

export type FoldOutcome = 'folded' | 'lost' | 'rebuild';

/**
 * Folds the hour `at` into the window of `hours` hours, from where a folder before left it.
 * 'lost': another folder has it (or had it); 'rebuild': the window was dropped (see above).
 */
export async function foldInSlices(redis: Redis, keys: FoldKeys, hours: number, at: number, slice = FOLD_SLICE): Promise<FoldOutcome> {
  let cursor = Number((await redis.hget(keys.folding, String(hours))) ?? 0);
  const nextTurn = pacedTurns();
  const ordered = [keys.window, keys.marks, keys.folding, keys.added, keys.left, keys.addedTotal, keys.leftTotal];
  for (;;) {
    const next = Number(await redis.eval(FOLD_SLICE_SCRIPT, ordered.length, ...ordered, String(hours), String(at), String(cursor), String(slice)));
    if (next === 0) return 'folded';
    if (next === -1) return 'lost';
    if (next === -2) return 'rebuild';
    cursor = next;
    // the rest lets Redis (and the core it runs on) serve everyone else as long as the slice took
    await nextTurn();
  }
}

/** How many ranks of the hour under way a window has folded (0: no fold under way). */
export function cursorOf(folding: Record<string, string>, hours: number): number {
  return Number(folding[String(hours)] ?? 0);
}

/**
 * While a fold is under way, the keys of the first `cursor` ranks of either hour hold the hour
 * added and no longer the one that left: per such key, what a reader must add to the window's
 * count to have the window as its mark says again.
 */
export async function correctionsOf(redis: Redis, keys: Pick<FoldKeys, 'added' | 'left'>, cursor: number): Promise<Map<string, number>> {
  const corrections = new Map<string, number>();
  if (cursor === 0) return corrections;
  const [added, left] = (await redis.multi().zrange(keys.added, 0, cursor - 1, 'WITHSCORES').zrange(keys.left, 0, cursor - 1, 'WITHSCORES').exec())!.map(([error, flat]) => {
    if (error) throw error;
    return flat as string[];
  });
  // scores are negative counts
  for (let i = 0; i < added.length; i += 2) corrections.set(added[i], (corrections.get(added[i]) ?? 0) + Number(added[i + 1]));
  for (let i = 0; i < left.length; i += 2) corrections.set(left[i], (corrections.get(left[i]) ?? 0) - Number(left[i + 1]));
  return corrections;
}
