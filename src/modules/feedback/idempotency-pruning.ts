// Idempotency-Keys are kept WORKYARD_FEEDBACK_IDEMPOTENCY_KEY_RETENTION_MS (a day: long enough for
// any client's retries), then deleted by worker processes in small batches
// (infra/db/batched-pruner.ts), so the posts that record keys never wait behind a long DELETE.
import { BatchedPruner, type PruningOptions } from '../../infra/db/batched-pruner.js';
import type { IdempotencyStore } from './idempotency-store.js';

export class IdempotencyKeyPruner extends BatchedPruner {
  constructor(keys: Pick<IdempotencyStore, 'pruneCreatedBefore'>, options: PruningOptions) {
    super((cutoff, limit) => keys.pruneCreatedBefore(cutoff, limit), 'pruning feedback idempotency keys failed', options);
  }
}
