// The job that makes one attempt of one delivery, and the outbox consumer that makes deliveries.
import type { AppContext } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { DELIVER_JOB, type DeliverJob, type WebhooksService } from './service.js';

// Receivers are slow (up to the 10 s attempt timeout each): many attempts wait at once, and at most
// a quarter of them per endpoint, so that an endpoint that hangs holds 32 slots, never all 128: the
// others' deliveries go on. (The per-group gate costs claims; 32 still gives one endpoint about
// 1,700 deliveries/s on SQLite, bench/RESULTS.md.)
const DELIVERY_CONCURRENCY = 128;
const PER_ENDPOINT_CONCURRENCY = 32;

export function registerWebhooksJobs(queue: JobQueue, service: WebhooksService, ctx: AppContext): void {
  queue.process<DeliverJob, string>(DELIVER_JOB, (job) => service.attempt(job.data, job.signal), { concurrency: DELIVERY_CONCURRENCY, groupConcurrency: PER_ENDPOINT_CONCURRENCY });
  // Worker processes turn committed events into deliveries.
  ctx.events.consume((events) => service.deliverEvents(events));
}
