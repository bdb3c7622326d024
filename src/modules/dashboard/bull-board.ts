// bull-board at /admin/queues when the queue driver is BullMQ, behind the same operator key as the
// dashboard. It needs BullMQ's own Queue objects, which only the driver has: it hands them over
// through an optional method, and the list is refreshed on each visit (queues appear per job name).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App, AppContext } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';

export const BULL_BOARD_PATH = '/admin/queues';

/** What the BullMQ driver offers for admin tools. */
export type QueueWithBullQueues = JobQueue & { bullQueues?(): Queue[] };

export async function mountBullBoard(app: App, ctx: AppContext, guard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>): Promise<void> {
  const queue = ctx.queue as QueueWithBullQueues;
  if (typeof queue.bullQueues !== 'function') {
    ctx.log.warn('the BullMQ driver does not hand out its queues: /admin/queues is not mounted');
    return;
  }
  const adapters = new Map<string, BullMQAdapter>();
  const serverAdapter = new FastifyAdapter().setBasePath(BULL_BOARD_PATH);
  const board = createBullBoard({ queues: [], serverAdapter, options: { uiConfig: { boardTitle: 'Workyard queues' } } });
  const refresh = () => {
    const current = queue.bullQueues!();
    if (current.length === adapters.size && current.every((q) => adapters.has(q.name))) return;
    adapters.clear();
    for (const q of current) adapters.set(q.name, new BullMQAdapter(q));
    board.replaceQueues([...adapters.values()]);
  };
  await app.register(async (scope) => {
    scope.addHook('onRequest', guard);
    scope.addHook('onRequest', async () => refresh());
    await scope.register(serverAdapter.registerPlugin() as any, { prefix: BULL_BOARD_PATH });
  });
}
