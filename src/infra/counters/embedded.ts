// The embedded counters driver: counts live in the SQL database (SQLite embedded, PostgreSQL when
// configured), increments in memory until their batch is written (every 25 ms, on reset, on
// shutdown). Memory holds only the increments of one interval, however many distinct keys there
// are; the table's (count desc, key) index keeps a page of the top keys one index walk away; a
// totals row, updated in the same transaction, spares a count(*) over millions of rows. Because
// the database holds the counts, API processes sharing one PostgreSQL share them too.
import { type Database, withTables } from '../db/database.js';
import type { CounterPage, Counters } from './contract.js';
import { type CountersTables, CounterStore } from './counter-store.js';
import { type CountersBufferOptions, WriteBehindBuffer, writeInChunks } from './write-behind-buffer.js';

export type EmbeddedCountersOptions = CountersBufferOptions;

export class EmbeddedCounters implements Counters {
  readonly driver = 'embedded' as const;
  private readonly store: CounterStore;
  private readonly buffer: WriteBehindBuffer;

  constructor(
    private readonly database: Database,
    options: EmbeddedCountersOptions = {},
  ) {
    this.store = new CounterStore(withTables<CountersTables>(database).db, database.dialect);
    this.buffer = new WriteBehindBuffer({
      // 25 ms: visible elsewhere within 100 ms with room to spare.
      flushDelayMs: options.flushDelayMs ?? 25,
      log: options.log,
      // 500 keys a statement: SQLite runs on the event loop. No deadline here: a write abandoned
      // by a deadline could still commit, and its retry would count twice. The pool's own
      // timeouts fail it when the database is down.
      write: (batch) => writeInChunks(batch, options.chunkKeys ?? 500, (chunk) => this.store.add(chunk)),
    });
  }

  increment(key: string): void {
    this.buffer.add(key);
  }

  async top(options: { limit: number; offset: number }): Promise<CounterPage> {
    // This process's own increments are part of the answer; a slow database answers 503, while
    // the write it waited for goes on.
    return this.database.run(async () => {
      await this.buffer.flush();
      return this.store.top(options.limit, options.offset);
    });
  }

  reset(): Promise<void> {
    return this.buffer.exclusive(async () => {
      this.buffer.clear();
      await this.database.run(() => this.store.clear());
    });
  }

  flush(): Promise<void> {
    return this.buffer.flush();
  }

  ping(): Promise<void> {
    return this.database.ping();
  }

  close(): Promise<void> {
    return this.buffer.close();
  }
}
