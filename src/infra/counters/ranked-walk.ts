// Deep pages on SQLite without holding the event loop. better-sqlite3 runs each statement on the
// loop, and a deep OFFSET walks every index entry before the page in one statement (5 to 20 ms per
// 500,000 measured here, far more on a busy machine) while every other request waits. So a deep offset is reached in steps: each step
// walks at most STEP entries from a cursor (the last entry passed) and the loop takes requests
// between steps. Counts may change between steps, as they may between two requests for pages.
import type { Kysely } from 'kysely';
import type { CounterEntry } from './contract.js';
import type { CountersTables } from './counter-store.js';

/** entries walked per statement: a few milliseconds of index walking */
export const STEP = 100_000;

const ranked = (db: Kysely<CountersTables>) => db.selectFrom('counters_counts').select(['key', 'count']);

/** Up to `limit` entries after the cursor (from the first when null), in rank order. */
async function entriesAfter(db: Kysely<CountersTables>, cursor: CounterEntry | null, limit: number, offset = 0): Promise<CounterEntry[]> {
  if (!cursor) return await ranked(db).orderBy('count', 'desc').orderBy('key', 'asc').limit(limit).offset(offset).execute();
  // After (count c, key k) come the rest of the tie group (count = c, key > k), then every lower count:
  // two range reads of the rank index, where one OR would make SQLite scan it from the start.
  const sameCount = await ranked(db).where('count', '=', cursor.count).where('key', '>', cursor.key).orderBy('key', 'asc').limit(limit).offset(offset).execute();
  if (sameCount.length === limit) return sameCount;
  let skipInLower = 0;
  if (sameCount.length === 0 && offset > 0) {
    const row = await db.selectFrom('counters_counts').select((eb) => eb.fn.countAll<number>().as('n')).where('count', '=', cursor.count).where('key', '>', cursor.key).executeTakeFirst();
    skipInLower = offset - Number(row?.n ?? 0);
  }
  const lower = await ranked(db).where('count', '<', cursor.count).orderBy('count', 'desc').orderBy('key', 'asc').limit(limit - sameCount.length).offset(skipInLower).execute();
  return [...sameCount, ...lower];
}

/** A page at any offset, walking to it in steps of at most `step` entries. */
export async function pageInSteps(db: Kysely<CountersTables>, limit: number, offset: number, step = STEP): Promise<CounterEntry[]> {
  let cursor: CounterEntry | null = null;
  let remaining = offset;
  while (remaining > step) {
    // the step-th entry after the cursor becomes the new cursor
    const [next] = await entriesAfter(db, cursor, 1, step - 1);
    if (!next) return [];
    cursor = next;
    remaining -= step;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return entriesAfter(db, cursor, limit, remaining);
}
