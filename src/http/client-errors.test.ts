// Errors raised before a route runs get the standard error shape too. Found by the fuzzer: Node and
// Fastify answered these with shapes of their own (or, for a missing Host or an unknown Expect,
// with an empty body).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendRaw } from '../../test/fuzz/http-send.js';
import { type TestWorkyard, startTestWorkyard } from '../../test/support/workyard.js';
import { tasksModule } from '../modules/tasks/index.js';

describe('errors before a route runs', () => {
  let wy: TestWorkyard;
  let port: number;
  beforeAll(async () => {
    wy = await startTestWorkyard({}, { modules: [tasksModule] });
    port = Number(new URL(wy.baseUrl).port);
  });
  afterAll(() => wy?.close());

  const raw = async (bytes: string) => {
    const outcome = await sendRaw(port, bytes, 5_000);
    if (!('answer' in outcome)) throw new Error(`no answer: ${JSON.stringify(outcome)}`);
    return { status: outcome.answer.status, type: outcome.answer.headers['content-type'], body: JSON.parse(outcome.answer.body.toString()) };
  };

  it.each([
    ['a request line that does not parse', 'HELLO THERE\r\n\r\n', 400, 'validation_failed', 'request'],
    ['a control byte in a header name', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-B\u0001d: 1\r\n\r\n', 400, 'validation_failed', 'request'],
    ['Content-Length with Transfer-Encoding', 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'validation_failed', 'request'],
    ['headers past 16 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large', 'headers'],
    ['no Host header', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'validation_failed', 'host'],
    ['an Expect other than 100-continue', 'POST /healthz HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 0\r\n\r\n', 417, 'expectation_failed', 'expect'],
    ['broken percent-encoding in a path parameter', 'GET /tasks/%zz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'validation_failed', 'path'],
    ['a path parameter past 2,048 characters', `GET /tasks/${'x'.repeat(2049)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, 'uri_too_long', 'path'],
  ])('answers %s in the standard shape', async (_label, bytes, status, code, field) => {
    const answer = await raw(bytes);
    expect(answer.status).toBe(status);
    expect(answer.type).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ error: { code, message: expect.any(String), field } });
  });

  it('keeps serving after all of them', async () => {
    expect((await fetch(`${wy.baseUrl}/healthz`)).status).toBe(200);
  });
});
