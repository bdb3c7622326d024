// Every route that reads a body has a limit, and a body past it is refused with 413 in the
// standard error shape naming the body. The global limit is 1 MiB; the modules that need another
// set their own, listed here (and in the README's Security section).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsOf } from '../fuzz/hostile-requests.js';
import { encodeRequest, sendRaw } from '../fuzz/http-send.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const MiB = 1024 * 1024;
const BLOBS_MAX_BYTES = 64 * 1024;
/** Routes with a limit of their own; every other route that reads a body has the global 1 MiB. */
const OWN_LIMITS: Record<string, number> = {
  'POST /feedback/sync': 64 * 1024,
  'POST /feedback/async': 64 * 1024,
  'POST /sync/sum': 4 * MiB,
  'POST /async/post_task': 4 * MiB,
  'POST /put/': 10 * MiB,
  // streamed to the store, never buffered: WORKYARD_BLOBS_MAX_BYTES (set small for this test)
  'PUT /blobs/{*}': BLOBS_MAX_BYTES,
  // resumable uploads (tus): no request carries more than a blob may hold
  'POST /uploads': BLOBS_MAX_BYTES,
  'PATCH /uploads/{id}': BLOBS_MAX_BYTES,
  'DELETE /uploads/{id}': BLOBS_MAX_BYTES,
};

describe('body size limits on every route', () => {
  let wy: TestWorkyard;
  let routes: string[];
  beforeAll(async () => {
    wy = await startTestWorkyard({ WORKYARD_BLOBS_MAX_BYTES: String(BLOBS_MAX_BYTES) });
    const spec = await (await fetch(`${wy.baseUrl}/openapi.json`)).json();
    routes = operationsOf(spec)
      .filter((op) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(op.method))
      .map((op) => `${op.method} ${op.path}`);
  });
  afterAll(() => wy?.close());

  it('accepts a body at the route limit and refuses one byte more with 413 naming the body, on every route that reads one', { timeout: 120_000 }, async () => {
    const port = Number(new URL(wy.baseUrl).port);
    const answers: Record<string, string> = {};
    for (const route of routes) {
      const [method, path] = route.split(' ');
      const limit = OWN_LIMITS[route] ?? MiB;
      const url = path.replace('{*}', 'limit-test').replace('{n}', '1').replace(/\{[^}]+\}/g, 'limit-test');
      const send = async (bytes: number) => {
        const body = `"${'x'.repeat(bytes - 2)}"`; // valid JSON of exactly `bytes` bytes
        const outcome = await sendRaw(port, encodeRequest({ category: 'limit', method, url, headers: { 'content-type': 'application/json', accept: 'application/json' }, body }, `127.0.0.1:${port}`), 30_000);
        return 'answer' in outcome ? `${outcome.answer.status} ${outcome.answer.body.toString().slice(0, 160)}` : JSON.stringify(outcome);
      };
      const atLimit = await send(limit);
      answers[route] = `${atLimit.startsWith('413') ? 'refused at the limit' : 'accepted at the limit'}; past it: ${await send(limit + 1)}`;
    }
    const expected = Object.fromEntries(
      routes.map((route) => [route, expect.stringMatching(/^accepted at the limit; past it: 413 \{"error":\{"code":"payload_too_large".*"field":"body"/)]),
    );
    expect(answers).toEqual(expected);
    expect(routes.length).toBeGreaterThan(5);
  });
});
