// Finished sum task records are kept for a retention (WORKYARD_COMPUTE_TASK_RETENTION_MS, 7 days
// like the queue's finished jobs), then deleted by worker processes in small batches
// (infra/db/batched-pruner.ts). Pending records are never deleted.
import { BatchedPruner, type PruningOptions } from '../../infra/db/batched-pruner.js';
import type { ComputeTaskStore } from './store.js';

export class TaskPruner extends BatchedPruner {
  constructor(store: Pick<ComputeTaskStore, 'pruneFinishedBefore'>, options: PruningOptions) {
    super((cutoff, limit) => store.pruneFinishedBefore(cutoff, limit), 'pruning finished compute tasks failed', options);
  }
}
