// How SQL-queue processes tell each other that a job was enqueued or finished. In one process an
// EventEmitter is enough; with PostgreSQL, LISTEN/NOTIFY reaches every process at once, so a
// worker wakes without waiting for its next poll and a waiting API answers without polling.
import { EventEmitter } from 'node:events';
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import { loadPg } from '../db/database.js';

export interface QueueSignal {
  /** which process sent it; a process ignores its own signals coming back through PostgreSQL */
  origin: string;
  /** `cancel`: jobs cancelled while active, whose runs (in whichever process) must stop */
  kind: 'enqueued' | 'finished' | 'progress' | 'log' | 'cancel';
  name: string;
  ids: string[];
  /** `enqueued` of delayed jobs only: the earliest of their run times (epoch ms), to wake for */
  dueAt?: number;
  /** `log` only (one id): the line's number in its job, and the line itself when it is small (sql-queue-logs.ts) */
  log?: { seq: number; at?: number; message?: string };
}

export interface Notifier {
  publish(signal: QueueSignal): void;
  onSignal(listener: (signal: QueueSignal) => void): void;
  close(): Promise<void>;
}

export class LocalNotifier implements Notifier {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  publish(signal: QueueSignal): void {
    this.emitter.emit('signal', signal);
  }
  onSignal(listener: (signal: QueueSignal) => void): void {
    this.emitter.on('signal', listener);
  }
  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

const CHANNEL = 'workyard_queue';
// NOTIFY payloads are limited to 8000 bytes; a batch of ids is split below that.
const MAX_PAYLOAD = 7_000;

export class PostgresNotifier implements Notifier {
  private client: pg.Client | null = null;
  private closed = false;
  private readonly listeners: ((signal: QueueSignal) => void)[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly db: Kysely<object>,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch(() => this.scheduleReconnect());
  }

  private async connect(): Promise<void> {
    const client = new (loadPg().Client)({ connectionString: this.url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => this.scheduleReconnect());
    client.on('end', () => this.scheduleReconnect());
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const signal = JSON.parse(message.payload) as QueueSignal;
        for (const listener of this.listeners) listener(signal);
      } catch {
        // a foreign payload on our channel is not ours to act on
      }
    });
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    if (this.closed) return void (await client.end().catch(() => {}));
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const dead = this.client;
    this.client = null;
    dead?.removeAllListeners('end');
    dead?.end().catch(() => {});
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch(() => this.scheduleReconnect());
    }, 1_000);
    this.reconnectTimer.unref();
  }

  publish(signal: QueueSignal): void {
    for (const part of splitSignal(signal)) {
      // Losing a notification only delays the receiver until its next poll, so failures are dropped.
      sql`select pg_notify(${CHANNEL}, ${JSON.stringify(part)})`.execute(this.db).catch(() => {});
    }
  }

  onSignal(listener: (signal: QueueSignal) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    client?.removeAllListeners('end');
    await client?.end().catch(() => {});
  }
}

function splitSignal(signal: QueueSignal): QueueSignal[] {
  if (JSON.stringify(signal).length <= MAX_PAYLOAD) return [signal];
  const parts: QueueSignal[] = [];
  let ids: string[] = [];
  let size = 200;
  for (const id of signal.ids) {
    if (size + id.length + 3 > MAX_PAYLOAD && ids.length) {
      parts.push({ ...signal, ids });
      ids = [];
      size = 200;
    }
    ids.push(id);
    size += id.length + 3;
  }
  if (ids.length) parts.push({ ...signal, ids });
  return parts;
}
