// Liveness, readiness and metrics. /healthz never touches a dependency (it says the process
// answers); /readyz asks each dependency, with the dependency deadline, and says which is down.
import { Type } from 'typebox';
import type { App, AppContext } from '../app-context.js';
import { errorMessage } from '../infra/queue/contract.js';

export function opsRoutes(app: App, ctx: AppContext) {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness: the process answers', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'Readiness: each dependency, up or down, with latency' } }, async (_request, reply) => {
    const checks = await Promise.all(
      ctx.dependencies.map(async (dependency) => {
        const started = performance.now();
        try {
          await dependency.ping();
          return { name: dependency.name, status: 'up', latency_ms: round(performance.now() - started) };
        } catch (error) {
          return { name: dependency.name, status: 'down', latency_ms: round(performance.now() - started), error: errorMessage(error) };
        }
      }),
    );
    const ready = checks.every((check) => check.status === 'up');
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', shape: ctx.shape, drivers: ctx.drivers, dependencies: checks });
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    reply.type(ctx.metrics.contentType);
    return ctx.metrics.metrics();
  });
}

const round = (ms: number) => Math.round(ms * 100) / 100;
