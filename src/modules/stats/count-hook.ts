// Counts every request the app handles, whatever answers it (a module's route, a 404, a 405, a
// 429, the docs): a root-level onRequest hook, the first thing that runs for a request.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { App, AppContext } from '../../app-context.js';
import { countedPath } from './counted-path.js';

export function countEveryRequest(app: App, ctx: AppContext): void {
  const counters = ctx.counters;
  // A callback hook, not an async one: it runs on every request and must cost next to nothing.
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    counters.increment(countedPath(request.url));
    done();
  });
}
