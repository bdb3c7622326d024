// What the routes and the jobs share: turning outbox events into deliveries (one per event and
// endpoint), sending them one attempt per job, and scheduling the next attempt.
//
// Every step is idempotent, so a crash between any two replays safely: a delivery's id is derived
// from its event and endpoint (stored once), each attempt's job id from the delivery and the
// attempt number (enqueued once), and an attempt already recorded is never sent again by a
// replayed job. One group per endpoint keeps a slow or dead endpoint to its own worker slots.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AppContext } from '../../app-context.js';
import type { OutboxEvent } from '../../infra/events/contract.js';
import { newEventId } from '../../infra/events/sql-outbox.js';
import type { EnqueueOptions } from '../../infra/queue/contract.js';
import { TickBatch, batchedLookup } from '../../infra/tick-batch.js';
import { DEFAULT_RETRY_DELAYS_MS, retryDelay } from './retry-schedule.js';
import { type SendResult, WebhookSender } from './sender.js';
import { type AttemptOutcome, type DeliveryRow, type Endpoint, WebhooksStore } from './store.js';

export const DELIVER_JOB = 'webhooks.deliver';

export interface DeliverJob {
  deliveryId: string;
  /** the attempt this job makes, 1-based */
  attempt: number;
}

export interface WebhooksOptions {
  /** delays before each retry (default DEFAULT_RETRY_DELAYS_MS); tests shorten them */
  retryDelaysMs?: readonly number[];
  /** a 2xx within this long is success (default 10 s) */
  attemptTimeoutMs?: number;
}

export const newEndpointId = () => `ep_${randomUUID().replaceAll('-', '')}`;
/** Standard Webhooks' secret format: `whsec_` and base64 of 24 to 64 random bytes. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
/**
 * Derived, so that a replayed event finds its delivery; led by the event's id, which is
 * time-ordered (src/infra/ids.ts), so that deliveries (and their jobs, named after them) append
 * to their indexes rather than land on random pages; then the endpoint's, for one per endpoint.
 */
const deliveryIdOf = (endpointId: string, eventId: string) =>
  /^evt_[0-9a-f]{32}$/.test(eventId) ? `dlv_${eventId.slice(4)}${sha256Hex(endpointId).slice(0, 16)}` : `dlv_${sha256Hex(`${endpointId}.${eventId}`).slice(0, 32)}`;

export class WebhooksService {
  readonly store: WebhooksStore;
  readonly sender: WebhookSender;
  readonly retryDelays: readonly number[];
  // Concurrent attempts share their reads and their writes: one statement (one transaction) for
  // many deliveries, rather than four each queued behind SQLite's one writer.
  private readonly lookups: ReturnType<typeof batchedLookup<{ delivery: DeliveryRow; endpoint: Endpoint | null }>>;
  private readonly attemptWrites: TickBatch<{ delivery: DeliveryRow; outcome: AttemptOutcome }, boolean>;
  private interestTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: AppContext,
    options: WebhooksOptions = {},
  ) {
    this.store = new WebhooksStore(ctx.database);
    this.retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.sender = new WebhookSender({ allowPrivate: ctx.config.webhooks.allowPrivate, timeoutMs: options.attemptTimeoutMs ?? 10_000 });
    this.lookups = batchedLookup((ids) => this.store.deliveriesWithEndpoints(ids), 200);
    this.attemptWrites = new TickBatch((items) => this.store.recordAttempts(items), { maxBatch: 200, maxInFlight: ctx.database.dialect === 'sqlite' ? 1 : 4 });
  }

  /** The outbox consumer: a delivery and its first attempt's job for every endpoint that takes the event. */
  async deliverEvents(events: OutboxEvent[]): Promise<void> {
    const endpoints = (await this.store.endpoints()).filter((endpoint) => endpoint.enabled);
    if (!endpoints.length) return;
    const rows = events.flatMap((event) => endpoints.filter((endpoint) => endpoint.events.includes(event.type)).map((endpoint) => deliveryRow(endpoint, event)));
    // Making deliveries can wait too (the events are safe in the outbox): while requests fill the
    // event loop, a few at a time, a turn each (two rows and their indexes per delivery).
    for (let at = 0; at < rows.length; ) {
      await this.ctx.requestPressure.turn();
      const count = this.ctx.requestPressure.yielding ? DELIVERIES_PER_TURN : rows.length - at;
      await this.startDeliveries(rows.slice(at, at + count));
      at += count;
    }
  }

  /** POST /webhooks/{id}/test: a `ping` to this endpoint alone. */
  async ping(endpoint: Endpoint): Promise<DeliveryRow> {
    const row = deliveryRow(endpoint, { id: newEventId(), type: 'ping', data: { endpoint_id: endpoint.id }, createdAt: Date.now() });
    await this.startDeliveries([row]);
    return row;
  }

  /** POST …/deliveries/{delivery}/retry: one more attempt now, whatever state it was in. */
  async retryNow(delivery: DeliveryRow): Promise<void> {
    await this.store.reopen(delivery.id);
    // its own job id: an attempt of the old schedule still waiting is found stale when it runs
    await this.ctx.queue.enqueue(DELIVER_JOB, { deliveryId: delivery.id, attempt: delivery.attempts + 1 }, { ...this.jobOptions(delivery.endpoint_id), jobId: `${jobIdOf(delivery.id, delivery.attempts + 1)}-r${Date.now()}` });
  }

  /** One attempt of one delivery (the job handler). */
  async attempt(job: DeliverJob, signal: AbortSignal): Promise<string> {
    // deliveries can wait; requests cannot: while they fill the event loop, deliveries start a few at a time
    await this.ctx.requestPressure.turn(signal);
    const found = await this.lookups.get(job.deliveryId);
    if (!found || found.delivery.state !== 'pending') return 'nothing to send';
    const { delivery, endpoint } = found;
    if (job.attempt <= delivery.attempts) {
      // This attempt was made (a job replayed after a crash, or an older schedule's): at most make
      // sure the next one is on the queue, in case the crash came before it was enqueued.
      if (job.attempt === delivery.attempts && delivery.next_attempt_at !== null) await this.enqueueAttempt(delivery, job.attempt + 1, delivery.next_attempt_at);
      return 'attempt made already';
    }
    if (!endpoint) return 'endpoint deleted';
    if (!endpoint.enabled) {
      // listed as dead rather than pending forever; POST …/retry once the endpoint is registered again
      await this.store.abandon(delivery.id);
      return 'endpoint disabled';
    }
    const result = await this.sender.send(endpoint.url, endpoint.secret, { id: delivery.event_id, body: delivery.body }, signal);
    const outcome = this.outcomeOf(delivery, job.attempt, result);
    if (!(await this.attemptWrites.add({ delivery, outcome }))) return 'attempt made already';
    if (outcome.disableEndpoint) this.ctx.log.warn({ endpoint: endpoint.id, url: endpoint.url }, 'webhooks: endpoint answered 410 Gone and is disabled');
    if (outcome.nextAttemptAt !== null) await this.enqueueAttempt(delivery, job.attempt + 1, outcome.nextAttemptAt);
    return outcome.state === 'succeeded' ? `delivered: HTTP ${result.statusCode}` : `attempt ${job.attempt} failed: ${result.statusCode ?? result.error}`;
  }

  /**
   * Tells this process's outbox which event types some endpoint takes, now and every second
   * after (endpoints registered through another process are learnt within that second).
   */
  watchInterest(): void {
    const refresh = () => void this.refreshInterest().catch((error) => this.ctx.log.warn({ err: error }, 'webhooks: reading the endpoints failed'));
    refresh();
    this.interestTimer = setInterval(refresh, INTEREST_REFRESH_MS);
    this.interestTimer.unref();
  }

  async refreshInterest(): Promise<void> {
    const endpoints = await this.store.endpoints();
    this.ctx.events.setInterest(new Set(endpoints.filter((endpoint) => endpoint.enabled).flatMap((endpoint) => endpoint.events)));
  }

  async close(): Promise<void> {
    if (this.interestTimer) clearInterval(this.interestTimer);
    await this.sender.close();
  }

  private outcomeOf(delivery: DeliveryRow, attempt: number, result: SendResult): AttemptOutcome {
    const status = result.statusCode;
    const row = { delivery_id: delivery.id, attempt, started_at: result.startedAt, duration_ms: result.durationMs, status_code: status, response: result.response, error: result.error };
    if (status !== null && status >= 200 && status < 300) return { attempt: row, state: 'succeeded', nextAttemptAt: null };
    // 410 Gone: the receiver says this endpoint will never take anything again
    if (status === 410) return { attempt: row, state: 'dead', nextAttemptAt: null, disableEndpoint: 'the endpoint answered 410 Gone' };
    const delay = retryDelay(this.retryDelays, attempt);
    return delay === null ? { attempt: row, state: 'dead', nextAttemptAt: null } : { attempt: row, state: 'pending', nextAttemptAt: Date.now() + delay };
  }

  private async startDeliveries(rows: DeliveryRow[]): Promise<void> {
    if (!rows.length) return;
    // rows first: a job that runs at once finds its delivery
    await this.store.addDeliveries(rows);
    await this.ctx.queue.enqueueBulk(rows.map((row) => ({ name: DELIVER_JOB, data: { deliveryId: row.id, attempt: 1 } satisfies DeliverJob, options: { ...this.jobOptions(row.endpoint_id), jobId: jobIdOf(row.id, 1) } })));
  }

  private async enqueueAttempt(delivery: DeliveryRow, attempt: number, runAt: number): Promise<void> {
    await this.ctx.queue.enqueue(DELIVER_JOB, { deliveryId: delivery.id, attempt } satisfies DeliverJob, { ...this.jobOptions(delivery.endpoint_id), jobId: jobIdOf(delivery.id, attempt), runAt });
  }

  private jobOptions(endpointId: string): EnqueueOptions {
    // The job's own retries are for our side failing (the database down while recording): the
    // receiver's failures are attempts, scheduled above.
    return { group: endpointId, attempts: 5, backoffMs: 1_000 };
  }
}

const INTEREST_REFRESH_MS = 1_000;

/** deliveries made per turn while requests fill the event loop: about one delivery attempt's work */
const DELIVERIES_PER_TURN = 25;

const jobIdOf = (deliveryId: string, attempt: number) => `webhook-${deliveryId}-${attempt}`;

function deliveryRow(endpoint: Endpoint, event: OutboxEvent): DeliveryRow {
  const now = Date.now();
  // Standard Webhooks' payload shape: type, timestamp, data
  const body = JSON.stringify({ type: event.type, timestamp: new Date(event.createdAt).toISOString(), data: event.data });
  return {
    id: deliveryIdOf(endpoint.id, event.id),
    endpoint_id: endpoint.id,
    event_id: event.id,
    event_type: event.type,
    body,
    state: 'pending',
    attempts: 0,
    next_attempt_at: now,
    last_status: null,
    created_at: now,
    updated_at: now,
  };
}
