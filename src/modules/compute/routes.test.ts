// The HTTP contract of compute on the embedded shape: every validation rule answers 400 naming its
// field, non-JSON bodies answer 415, unknown ids 404, and the routes are documented in /docs.
import { describe, expect, it } from 'vitest';
import { startTestWorkyard } from '../../../test/support/workyard.js';
import { suiteWorkyard } from '../../../test/support/suite-workyard.js';

describe('compute routes: validation, media types and docs (embedded)', () => {
  const wy = suiteWorkyard(() => startTestWorkyard());

  const postJson = (url: string, payload: string | object) =>
    wy.workyard.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

  const expectFieldError = async (payload: string | object, field: string) => {
    for (const url of ['/sync/sum', '/async/post_task']) {
      const res = await postJson(url, payload);
      expect(res.statusCode, `${url} ${JSON.stringify(payload).slice(0, 80)}`).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'validation_failed', message: expect.any(String), field } });
    }
  };

  it('refuses an empty list', () => expectFieldError({ numbers: [] }, 'numbers'));
  it('refuses strings, in the list or as the list', async () => {
    await expectFieldError({ numbers: [1, '2'] }, 'numbers');
    await expectFieldError({ numbers: '1,2' }, 'numbers');
    await expectFieldError({ args: ['x'] }, 'args');
  });
  it('refuses null, booleans and nested lists as numbers', async () => {
    await expectFieldError({ numbers: [1, null] }, 'numbers');
    await expectFieldError({ numbers: [true] }, 'numbers');
    await expectFieldError({ numbers: [[1]] }, 'numbers');
  });

  it('refuses NaN and Infinity, naming the field and the position', async () => {
    for (const token of ['NaN', 'Infinity', '-Infinity']) {
      await expectFieldError(`{"numbers": [1, 2, ${token}]}`, 'numbers');
      await expectFieldError(`{"args": [${token}]}`, 'args');
    }
    const res = await postJson('/sync/sum', '{"numbers": [1, 2, NaN], "delay_ms": 0}');
    expect(res.json().error.message).toBe('numbers[2]: NaN is not a finite number; only finite numbers are accepted');
    // a number too large for a double parses as Infinity
    await expectFieldError('{"numbers": [1e999]}', 'numbers');
    // the same words inside a string are just a string (not a number)
    await expectFieldError('{"numbers": ["NaN"]}', 'numbers');
  });

  it('refuses more than 100,000 numbers, and accepts 100,000 written out in full (2.4 MB, above the 1 MB default)', async () => {
    await expectFieldError({ numbers: Array(100_001).fill(1) }, 'numbers');
    const full = Array.from({ length: 100_000 }, (_, i) => -1.2345678901234567e-123 * (i + 1));
    const body = JSON.stringify({ numbers: full });
    expect(body.length).toBeGreaterThan(2_000_000);
    const res = await postJson('/async/post_task', body);
    expect(res.statusCode).toBe(202);
  });

  it('refuses a bad delay_ms', async () => {
    for (const delay of [-1, 60_001, 1.5, '10', null, true]) await expectFieldError({ numbers: [1], delay_ms: delay }, 'delay_ms');
  });

  it('refuses unknown fields, naming them', async () => {
    await expectFieldError({ numbers: [1], extra: 1 }, 'extra');
    await expectFieldError({ numbers: [1], __proto__x: 1 }, '__proto__x');
  });

  it('takes args as another name for numbers, exactly one of the two', async () => {
    await expectFieldError({ numbers: [1], args: [2] }, 'args');
    await expectFieldError({ delay_ms: 0 }, 'numbers');
    await expectFieldError({}, 'numbers');
    const res = await postJson('/sync/sum', { args: [1, 2, 3] });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ result: 6, task_id: expect.any(String) });
  });

  it('refuses a body that is not a JSON object', async () => {
    await expectFieldError('[1, 2, 3]', 'body');
    await expectFieldError('{"numbers": [1, 2,', 'body');
    await expectFieldError('', 'body');
  });

  it('answers 415 with the standard error shape when the body is not JSON', async () => {
    const cases = [
      { 'content-type': 'text/plain', payload: '1 2 3' },
      { 'content-type': 'application/x-www-form-urlencoded', payload: 'numbers=1&numbers=2' },
      { 'content-type': 'application/xml', payload: '<numbers><n>1</n></numbers>' },
      { 'content-type': 'multipart/form-data; boundary=x', payload: '--x\r\n\r\n1\r\n--x--' },
    ];
    for (const url of ['/sync/sum', '/async/post_task']) {
      for (const { payload, ...headers } of cases) {
        const res = await wy.workyard.app.inject({ method: 'POST', url, headers, payload });
        expect(res.statusCode, `${url} ${headers['content-type']}`).toBe(415);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.json()).toEqual({ error: { code: 'unsupported_media_type', message: expect.any(String), field: 'content-type' } });
      }
    }
  });

  it('accepts JSON with a charset parameter', async () => {
    const res = await wy.workyard.app.inject({ method: 'POST', url: '/sync/sum', headers: { 'content-type': 'application/json; charset=utf-8' }, payload: '{"numbers":[0.1,0.2]}' });
    expect(res.json()).toMatchObject({ result: 0.30000000000000004 });
  });

  it('answers 413 naming the body past 4 MB', async () => {
    const res = await postJson('/async/post_task', `{"numbers": [${'1,'.repeat(2_200_000)}1]}`);
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toMatchObject({ code: 'payload_too_large', field: 'body' });
  });

  it('answers 400 without session_id, 404 for an unknown id or another module\'s job', async () => {
    const missing = await wy.workyard.app.inject({ url: '/async/get_task_result' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({ code: 'validation_failed', field: 'session_id' });
    for (const url of ['/async/get_task_result?session_id=nope', '/async/get_task_result/nope']) {
      const res = await wy.workyard.app.inject({ url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'not_found', message: 'sum task nope not found' } });
    }
    const other = await wy.workyard.ctx.queue.enqueue('some.other-job', { x: 1 });
    expect((await wy.workyard.app.inject({ url: `/async/get_task_result/${other.id}` })).statusCode).toBe(404);
  });

  it('documents both routes in /docs with their schemas, examples and the compensated summation', async () => {
    const spec = (await wy.workyard.app.inject({ url: '/openapi.json' })).json();
    for (const path of ['/sync/sum', '/async/post_task']) {
      const operation = spec.paths[path].post;
      expect(operation.description).toContain('Neumaier');
      expect(operation.description).toContain('[1e16, 1, -1e16]');
      const media = operation.requestBody.content['application/json'];
      expect(media.schema.properties).toHaveProperty('numbers');
      expect(media.schema.properties).toHaveProperty('args');
      expect(JSON.stringify(media)).toContain('"delay_ms":0');
    }
    expect(spec.paths['/async/get_task_result'].get.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'session_id', in: 'query' })]));
    expect(spec.paths['/async/get_task_result/{session_id}'].get.responses).toHaveProperty('200');
  });
});
