// HEAD on a server-sent-events route must answer its head and end. Found by the fuzzer: the
// handlers wrote the head and then events, which Node drops for HEAD, so the head was never
// flushed and the request hung for as long as the stream would have lasted.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

function head(url: string): Promise<{ status: number; type: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'HEAD' }, (response) => {
      resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), ms: performance.now() - started });
      response.resume();
      request.destroy();
    });
    request.setTimeout(5_000, () => request.destroy(new Error(`HEAD ${url}: no answer within 5 s`)));
    request.on('error', reject);
    request.end();
  });
}

describe('HEAD on event-stream routes', () => {
  let wy: TestWorkyard;
  let jobId: string;
  beforeAll(async () => {
    wy = await startTestWorkyard();
    // Nobody processes this job name: the task stays queued, so its stream would stay open.
    jobId = (await wy.workyard.ctx.queue.enqueue('head-test-idle', {})).id;
  });
  afterAll(() => wy?.close());

  it.each(['/dashboard/events', '/tasks/{id}/events'])('answers HEAD %s with its head at once', async (path) => {
    const answer = await head(wy.baseUrl + path.replace('{id}', jobId));
    expect(answer).toMatchObject({ status: 200, type: expect.stringContaining('text/event-stream') });
    expect(answer.ms).toBeLessThan(2_000);
  });
});
