// The embedded counters driver: counts live in the SQL database (SQLite embedded, PostgreSQL when
// configured), increments in memory until their batch is written (every 25 ms, on reset, on
// shutdown). Memory holds only the increments of one interval, however many distinct keys there
// are; the table's (count desc, key) index keeps a page of the top keys one index walk away; a
// totals row, updated in the same transaction, spares a count(*) over millions of rows. Because
// the database holds the counts, API processes sharing one PostgreSQL share them too.
import type { Database } from '../db/database.js';
import type { CounterPage, Counters } from './contract.js';
import { CounterStore } from './counter-store.js';
import { WriteBehindBuffer } from './write-behind-buffer.js';

export interface EmbeddedCountersOptions {
  /** how long increments are gathered before they are written (default 25 ms: visible elsewhere within 100 ms with room to spare) */
  flushDelayMs?: number;
  /** distinct keys per statement and transaction (default 500): SQLite runs on the event loop */
  chunkKeys?: number;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export class EmbeddedCounters implements Counters {
  readonly driver = 'embedded' as const;
  private readonly store: CounterStore;
  private readonly buffer: WriteBehindBuffer;

  constructor(
    private readonly database: Database,
    options: EmbeddedCountersOptions = {},
  ) {
    this.store = new CounterStore(database.db, database.dialect);
    const chunkKeys = options.chunkKeys ?? 500;
    this.buffer = new WriteBehindBuffer({
      flushDelayMs: options.flushDelayMs ?? 25,
      log: options.log,
      write: async (batch) => {
        while (batch.size > 0) {
          const chunk: [string, number][] = [];
          for (const entry of batch) {
            chunk.push(entry);
            if (chunk.length === chunkKeys) break;
          }
          // No deadline here: a write abandoned by a deadline could still commit, and its retry
          // would count twice. The pool's own timeouts fail it when the database is down.
          await this.store.add(chunk);
          for (const [key] of chunk) batch.delete(key);
          // Let requests through between chunks: a large batch must not hold the event loop.
          if (batch.size > 0) await new Promise((resolve) => setImmediate(resolve));
        }
      },
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
