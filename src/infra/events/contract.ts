// The outbox contract: an event is written in the same SQL transaction as the change it reports,
// so a crash never loses one (the change committed) nor invents one (the change rolled back).
// Consumers (the webhooks module) read committed events afterwards, at least once each.
import type { Kysely } from 'kysely';

/** What a module records: a dotted type (`feedback.saved`) and a JSON object about the change. */
export interface NewEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface OutboxEvent extends NewEvent {
  /** stable across redeliveries (`evt_…`): receivers deduplicate on it */
  id: string;
  /** epoch ms: when the change was recorded */
  createdAt: number;
}

/**
 * Called with committed events in the order they were recorded, in batches. Resolving marks them
 * consumed; throwing (or a crash before the mark) hands the same events over again, so a consumer
 * must be idempotent per event id.
 */
export type EventConsumer = (events: OutboxEvent[]) => Promise<void>;

export interface EventOutbox {
  /**
   * Records events inside the caller's transaction (`trx` is any Kysely handle on this database:
   * a transaction, or the database itself for a one-statement change). Nothing is consumed
   * before that transaction commits.
   */
  recordIn(trx: Kysely<any>, events: NewEvent[]): Promise<void>;
  /** Records events on their own, for changes that are not SQL rows (a blob, a finished job). */
  record(events: NewEvent[]): Promise<void>;
  /**
   * Hands every committed, unconsumed event to `consumer`, starting now, until close(). Called in
   * processes that run workers; several processes may consume at once (hence idempotent consumers).
   */
  consume(consumer: EventConsumer): void;
  /**
   * Whether an event of this type has a taker. Every recorder asks first (an event recorded with
   * no taker is a write in its request for nothing): task events, feedback.saved, blob.stored.
   * True until setInterest: a process without the webhooks module records every event.
   */
  wants(type: string): boolean;
  /** The types consumers take (null: all), as the webhooks module learns them from its endpoints. */
  setInterest(types: ReadonlySet<string> | null): void;
  /** Events recorded for `type` (newest first, at most `limit`): for operators and tests. */
  list(filter: { type?: string; limit?: number }): Promise<OutboxEvent[]>;
  close(): Promise<void>;
}
