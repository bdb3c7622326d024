// The ceilings benchmarks compare with: a bare Fastify app with one GET and one POST route that
// do nothing, started in the same run, on the same machine.
import Fastify from 'fastify';

export async function startBareFastify(): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get('/bare', async () => ({ ok: true }));
  app.get('/bare/*', async (request) => ({ path: request.url }));
  app.post('/bare', async (_request, reply) => reply.status(201).send({ id: 1 }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}
