// The outbox in the SQL database every driver shape has. Consumers poll for unconsumed rows (a
// short interval, and a nudge when this process records one), hand them over, then mark them.
import type { FastifyBaseLogger } from 'fastify';
import type { Generated, Kysely } from 'kysely';
import { type Database, withTables } from '../db/database.js';
import { newRowId } from '../ids.js';
import type { EventConsumer, EventOutbox, NewEvent, OutboxEvent } from './contract.js';

interface OutboxRow {
  seq: Generated<number>;
  id: string;
  type: string;
  data: string;
  created_at: number;
  consumed_at: number | null;
}
type OutboxTables = { events_outbox: OutboxRow };

export interface SqlOutboxOptions {
  /** how often consumers look for events recorded by other processes */
  pollMs?: number;
  /** events per batch handed to a consumer */
  batchSize?: number;
  /** consumed events are kept this long (operators, tests), then deleted */
  retentionMs?: number;
}

const PRUNE_EVERY_MS = 60_000;

export const newEventId = () => `evt_${newRowId().replaceAll('-', '')}`;

export class SqlEventOutbox implements EventOutbox {
  private readonly database: Database<OutboxTables>;
  private readonly consumers: EventConsumer[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  private lastPrune = 0;
  private interest: ReadonlySet<string> | null = null;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly retentionMs: number;

  constructor(
    database: Database,
    private readonly log: FastifyBaseLogger,
    options: SqlOutboxOptions = {},
  ) {
    this.database = withTables<OutboxTables>(database);
    this.pollMs = options.pollMs ?? 250;
    this.batchSize = options.batchSize ?? 500;
    this.retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  }

  async recordIn(trx: Kysely<any>, events: NewEvent[]): Promise<void> {
    if (!events.length) return;
    const now = Date.now();
    const rows = events.map((event) => ({ id: newEventId(), type: event.type, data: JSON.stringify(event.data), created_at: now, consumed_at: null }));
    // SQLite allows 32,766 bound values: 5 a row, in chunks well below that
    for (let i = 0; i < rows.length; i += 1_000) await (trx as Kysely<OutboxTables>).insertInto('events_outbox').values(rows.slice(i, i + 1_000)).execute();
    // After the caller's commit, most likely: an early pass finds nothing and the poll catches up.
    this.nudge(5);
  }

  async record(events: NewEvent[]): Promise<void> {
    await this.database.run((db) => this.recordIn(db, events));
  }

  wants(type: string): boolean {
    return this.interest === null || this.interest.has(type);
  }

  setInterest(types: ReadonlySet<string> | null): void {
    this.interest = types;
  }

  consume(consumer: EventConsumer): void {
    this.consumers.push(consumer);
    this.nudge(0);
  }

  async list(filter: { type?: string; limit?: number }): Promise<OutboxEvent[]> {
    const rows = await this.database.run((db) =>
      db
        .selectFrom('events_outbox')
        .selectAll()
        .$if(filter.type !== undefined, (q) => q.where('type', '=', filter.type!))
        .orderBy('seq', 'desc')
        .limit(filter.limit ?? 100)
        .execute(),
    );
    return rows.map(eventOf);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private nudge(delayMs: number): void {
    if (this.closed || !this.consumers.length) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pass(), delayMs);
    this.timer.unref();
  }

  private pass(): void {
    this.timer = null;
    this.running = this.drain()
      .catch((error) => this.log.warn({ err: error }, 'events: handing events to consumers failed; trying again'))
      .finally(() => {
        this.running = null;
        const again = this.again;
        this.again = false;
        this.nudge(again ? 0 : this.pollMs);
      });
  }

  /** Hands over every unconsumed event, batch after batch, until none is left. */
  private async drain(): Promise<void> {
    while (!this.closed) {
      const rows = await this.database.run((db) =>
        db.selectFrom('events_outbox').selectAll().where('consumed_at', 'is', null).orderBy('seq').limit(this.batchSize).execute(),
      );
      if (!rows.length) break;
      const events = rows.map(eventOf);
      for (const consumer of this.consumers) await consumer(events);
      const seqs = rows.map((row) => row.seq);
      await this.database.run((db) => db.updateTable('events_outbox').set({ consumed_at: Date.now() }).where('seq', 'in', seqs).execute());
      if (rows.length < this.batchSize) break;
    }
    if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = Date.now();
      const before = Date.now() - this.retentionMs;
      await this.database.run((db) => db.deleteFrom('events_outbox').where('consumed_at', '<', before).execute());
    }
  }
}

function eventOf(row: { id: string; type: string; data: string; created_at: number }): OutboxEvent {
  return { id: row.id, type: row.type, data: JSON.parse(row.data) as Record<string, unknown>, createdAt: Number(row.created_at) };
}
