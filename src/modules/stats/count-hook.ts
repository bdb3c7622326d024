// Counts every request the app handles, whatever answers it (a module's route, a 404, a 405, a
// 429, the docs): a root-level onRequest hook, the first thing that runs for a request.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { App, AppContext } from '../../app-context.js';
import { countedPath } from './counted-path.js';
import { BotAgents } from './bot-agents.js';
import type { VisitorIds } from './visitor-ids.js';

export function countEveryRequest(app: App, ctx: AppContext, visitors: VisitorIds): void {
  const counters = ctx.counters;
  const bots = new BotAgents();
  // A callback hook, not an async one: it runs on every request and must cost next to nothing.
  // Buckets and visitors add a hash and a map entry here; grouping them is the batch writer's work.
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const at = Date.now();
    const agent = request.headers['user-agent'] ?? '';
    counters.increment(countedPath(request.url), visitors.id(request.ip, agent, at), at, bots.isBot(agent));
    done();
  });
}
