// bull-board at /admin/queues when the queue driver is BullMQ, behind the same operator key as the
// dashboard. It needs BullMQ's own Queue objects, which only the driver has: it hands them over
// through its `bullmq` capability (contract.ts), read again on each visit (a job name may appear at
// any time, in any process).
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app-context.js';
import type { JobQueue } from '../../infra/queue/contract.js';

export const BULL_BOARD_PATH = '/admin/queues';

export async function mountBullBoard(
  app: App,
  bullmq: NonNullable<JobQueue['bullmq']>,
  guard: (request: FastifyRequest, reply: FastifyReply) => Promise<void>,
): Promise<void> {
  const serverAdapter = new FastifyAdapter().setBasePath(BULL_BOARD_PATH);
  const board = createBullBoard({ queues: [], serverAdapter, options: { uiConfig: { boardTitle: 'Workyard queues' } } });
  let shown = '';
  const refresh = async (request: FastifyRequest) => {
    try {
      const queues = await bullmq.queues();
      const names = queues.map((q) => q.name).join('\n');
      if (names === shown) return;
      board.replaceQueues(queues.map((q) => new BullMQAdapter(q)));
      shown = names;
    } catch (error) {
      // Redis is away: bull-board keeps the queues it knows and reports the outage itself.
      request.log.warn({ err: error }, 'bull-board could not list the queues');
    }
  };
  await app.register(async (scope) => {
    scope.addHook('onRequest', guard);
    scope.addHook('onRequest', refresh);
    scope.addHook('onSend', async (_request, reply, payload) => withoutExternalFonts(reply, payload));
    await scope.register(serverAdapter.registerPlugin() as any, { prefix: BULL_BOARD_PATH });
  });
}

/**
 * bull-board's page asks Google Fonts for its typeface: Workyard works offline and its
 * Content-Security-Policy refuses other origins, so the link goes (system fonts stand in).
 */
function withoutExternalFonts(reply: FastifyReply, payload: unknown): unknown {
  if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
  return payload.replace(/<link[^>]+href="https:\/\/fonts\.(googleapis|gstatic)\.com[^>]*>/g, '');
}
