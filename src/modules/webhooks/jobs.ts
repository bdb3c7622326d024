// The job that makes one attempt of one delivery, and the outbox consumer that makes deliveries.
import type { AppContext } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';
import { DELIVER_JOB, type DeliverJob, type WebhooksService } from './service.js';

// Receivers are slow (up to the 10 s attempt timeout each): many attempts wait at once, and at most
// a few per endpoint, so that one endpoint that hangs holds a few slots, not all of them.
const DELIVERY_CONCURRENCY = 64;
const PER_ENDPOINT_CONCURRENCY = 8;

export function registerWebhooksJobs(queue: JobQueue, service: WebhooksService, ctx: AppContext): void {
  queue.process<DeliverJob, string>(DELIVER_JOB, (job) => service.attempt(job.data, job.signal), { concurrency: DELIVERY_CONCURRENCY, groupConcurrency: PER_ENDPOINT_CONCURRENCY });
  // Worker processes turn committed events into deliveries.
  ctx.events.consume((events) => service.deliverEvents(events));
}
