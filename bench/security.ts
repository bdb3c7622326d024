// Benchmark: what the security layer costs per request, beside a bare Fastify GET route measured in
// the same run (the ceiling):
//  1. the same bare route with the headers Workyard gives a JSON answer (the OWASP REST set), then
//     with the full set pages get (helmet's twelve, computed once), and, for comparison, with
//     @fastify/helmet running helmet's middleware on every request;
//  2. a trivial route in a whole Workyard, rate limits off (the default);
//  3. the same with rate limits on, counted in the process (embedded shape);
//  4. the same with rate limits counted in Redis (scaled shape), when Redis answers.
// Limits are set high enough never to refuse: what is measured is the counting. Workyard runs in
// this process; autocannon runs in a worker thread so the two do not share an event loop.
import fastifyHelmet from '@fastify/helmet';
import Fastify from 'fastify';
import type { WorkyardModule } from '../src/app-context.js';
import { addCommonHeaders, addHeadersByKind, contentSecurityPolicy, securityHeaders } from '../src/http/security.js';
import { tasksModule } from '../src/modules/tasks/index.js';
import { needService, redisUrl, uniqueRedisPrefix } from '../test/support/services.js';
import { type TestWorkyard, startTestWorkyard } from '../test/support/workyard.js';
import { startBareFastify } from './lib/ceiling.js';
import { type LoadResult, load } from './lib/load.js';
import { type BenchRow, quickMode, recordSection } from './lib/report.js';

const QUICK = quickMode();
const SECONDS = QUICK ? 2 : 5;
const DEADLINE_MS = QUICK ? 120_000 : 300_000;

const deadline = setTimeout(() => {
  console.error(`bench:security did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

const benchModule: WorkyardModule = {
  name: 'bench',
  create: () => ({
    routes(app) {
      app.get('/bench/ping', { schema: { tags: ['bench'] } }, async () => ({ ok: true }));
    },
  }),
};

async function measure(url: string): Promise<LoadResult> {
  await load({ url, duration: 1, connections: 50, workers: 1 }); // warm-up: JIT, connections
  const result = await load({ url, duration: SECONDS, connections: 50, workers: 1 });
  if (result.errors || result.non2xx) throw new Error(`${url}: ${result.errors} errors and ${result.non2xx} non-2xx answers under load`);
  return result;
}

async function withHeaders(how: 'by-kind' | 'page-set' | 'per-request'): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  if (how === 'per-request') await app.register(fastifyHelmet, { contentSecurityPolicy });
  else if (how === 'by-kind') {
    app.addHook('onRequest', addCommonHeaders);
    app.addHook('onSend', addHeadersByKind);
  } else {
    const headers = securityHeaders();
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers);
      done();
    });
  }
  app.get('/bare', async () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, close: () => app.close() };
}

async function workyardRps(env: Record<string, string>): Promise<LoadResult> {
  const wy: TestWorkyard = await startTestWorkyard({ WORKYARD_LOG_LEVEL: 'silent', ...env }, { modules: [tasksModule, benchModule], worker: false });
  try {
    return await measure(`${wy.baseUrl}/bench/ping`);
  } finally {
    await wy.close();
  }
}

const bare = await startBareFastify();
const ceiling = await measure(`${bare.url}/bare`);
await bare.close();

const kindHeaders = await withHeaders('by-kind');
const headersByKind = await measure(`${kindHeaders.url}/bare`);
await kindHeaders.close();
const staticHeaders = await withHeaders('page-set');
const headersOnce = await measure(`${staticHeaders.url}/bare`);
await staticHeaders.close();
const pluginHeaders = await withHeaders('per-request');
const headersPerRequest = await measure(`${pluginHeaders.url}/bare`);
await pluginHeaders.close();

const limitsOff = await workyardRps({});
const HIGH = { WORKYARD_RATE_LIMIT_MAX: '10000000', WORKYARD_RATE_LIMIT_WINDOW_MS: '60000' };
const limitsLocal = await workyardRps(HIGH);
const redisOk = await needService('redis').catch(() => false);
const limitsRedis = redisOk ? await workyardRps({ ...HIGH, WORKYARD_REDIS_URL: redisUrl, WORKYARD_REDIS_PREFIX: uniqueRedisPrefix('bench-security') }) : undefined;

const ceilingRef = { name: 'bare Fastify GET', value: ceiling.requestsPerSecond };
const row = (figure: string, result: LoadResult, goal?: { ratio: number }): BenchRow => {
  const ratio = result.requestsPerSecond / ceiling.requestsPerSecond;
  return {
    figure: `${figure} (p99 ${result.latencyP99Ms} ms)`,
    value: result.requestsPerSecond,
    unit: 'req/s',
    ceiling: ceilingRef,
    ratio,
    ...(goal ? { goal: `≥ ${goal.ratio} × ceiling`, met: ratio >= goal.ratio } : {}),
  };
};

recordSection({
  module: 'security',
  command: `npm run bench:security${QUICK ? ' -- --quick' : ''}`,
  notes: [
    `${SECONDS} s of load per figure, 50 connections, after a 1 s warm-up; autocannon in a worker thread.`,
    'Rate limits set high enough never to answer 429: the figures are the cost of counting.',
    `Ratio of limits in the process to limits off: ${(limitsLocal.requestsPerSecond / limitsOff.requestsPerSecond).toFixed(2)}` +
      (limitsRedis ? `; limits in Redis to limits off: ${(limitsRedis.requestsPerSecond / limitsOff.requestsPerSecond).toFixed(2)}.` : '; Redis did not answer, so its row is missing.'),
  ],
  rows: [
    row('bare JSON route + the REST set of headers, by kind of answer (what Workyard does)', headersByKind, { ratio: 0.9 }),
    row('bare route + the twelve page headers, computed once (what pages get; every answer got them before #23)', headersOnce),
    row('bare route + @fastify/helmet (helmet run per request), for comparison', headersPerRequest),
    row('Workyard GET, rate limits off (default)', limitsOff),
    row('Workyard GET, rate limits on, in the process', limitsLocal),
    ...(limitsRedis ? [row('Workyard GET, rate limits on, in Redis', limitsRedis)] : []),
  ],
});
clearTimeout(deadline);
process.exit(0);
