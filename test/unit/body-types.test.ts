// One rule for body types on every route that declares a body (every requestBody of
// /openapi.json): a text/plain body is a 415 in the standard error shape naming the type that came
// and the types the route takes. JSON routes take application/json and the +json types; only the
// feedback form routes take a urlencoded form too. PUT /blobs/{key} (raw bytes of any type)
// declares no body and keeps taking anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operationsOf } from '../fuzz/hostile-requests.js';
import { type TestWorkyard, startTestWorkyard } from '../support/workyard.js';

const fill = (path: string) => path.replace('{*}', 'body-type-test').replace('{n}', '1').replace(/\{[^}]+\}/g, 'body-type-test');

describe('body types: 415 naming the type on every route with a body', () => {
  let wy: TestWorkyard;
  let withBody: { method: string; path: string; contentTypes: string[] }[];
  beforeAll(async () => {
    wy = await startTestWorkyard();
    const spec = await (await fetch(`${wy.baseUrl}/openapi.json`)).json();
    withBody = operationsOf(spec).flatMap((op) => (op.body ? [{ method: op.method, path: op.path, contentTypes: op.body.contentTypes }] : []));
  });
  afterAll(() => wy?.close());

  const send = async (method: string, path: string, contentType: string, body: string) => {
    const res = await fetch(wy.baseUrl + fill(path), { method, headers: { 'content-type': contentType }, body, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  it('answers a text/plain body with 415 in the JSON error shape, naming text/plain and what the route takes', async () => {
    const answers: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const { method, path, contentTypes } of withBody) {
      const res = await send(method, path, 'text/plain; charset=utf-8', 'url=http://example.com/');
      const route = `${method} ${path}`;
      answers[route] = { status: res.status, type: res.type, body: JSON.parse(res.body) };
      expected[route] = {
        status: 415,
        type: 'application/json; charset=utf-8',
        body: { error: { code: 'unsupported_media_type', field: 'content-type', message: expect.stringMatching(new RegExp(`takes ${contentTypes.map((t) => t.replace('+', '\\+')).join('.* or ')}.*, not text/plain$`)) } },
      };
    }
    expect(answers).toEqual(expected);
    expect(Object.keys(answers).sort()).toEqual(
      ['POST /feedback/sync', 'POST /feedback/async', 'POST /sync/sum', 'POST /async/post_task', 'POST /images_tasks', 'POST /text_tasks', 'POST /put/', 'POST /schedules', 'POST /tasks/retry', 'POST /webhooks', 'POST /blobs/{*}', 'POST /blob-tokens'].sort(),
    );
  });

  it('takes a urlencoded form only on the routes that declare one (the feedback form)', async () => {
    for (const { method, path, contentTypes } of withBody) {
      const res = await send(method, path, 'application/x-www-form-urlencoded', 'url=http://example.com/&numbers=1');
      if (contentTypes.includes('application/x-www-form-urlencoded')) expect(res.status, path).not.toBe(415);
      else expect({ path, status: res.status, body: JSON.parse(res.body).error.message }).toEqual({ path, status: 415, body: expect.stringContaining('not application/x-www-form-urlencoded') });
    }
  });

  it('takes the +json types as JSON on every JSON route', async () => {
    const sum = await send('POST', '/sync/sum', 'application/vnd.workyard+json', JSON.stringify({ numbers: [1, 2] }));
    expect(sum.status).toBe(200);
    expect(JSON.parse(sum.body).result).toBe(3);
    const put = await send('POST', '/put/', 'application/merge-patch+json; charset=utf-8', JSON.stringify({ key: 'plus-json', extension: 'txt', data: 'aGk=' }));
    expect(put.status).toBe(201);
    const feedback = await send('POST', '/feedback/sync', 'application/vnd.api+json', JSON.stringify({ name: 'A', email: 'a@example.com', message: 'plus json' }));
    expect(feedback.status).toBe(201);
  });

  it('a body without a Content-Type is a 415 too; no body at all is left to the schema (400 naming the field)', async () => {
    const untyped = await fetch(`${wy.baseUrl}/put/`, { method: 'POST', body: new Blob(['{}']), signal: AbortSignal.timeout(10_000) });
    expect(untyped.status).toBe(415);
    expect(((await untyped.json()) as any).error.message).toContain('not a body without a Content-Type');
    const empty = await fetch(`${wy.baseUrl}/put/`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    expect(empty.status).toBe(400);
  });

  it('leaves PUT /blobs/{key} alone: raw bytes of any type are stored as sent', async () => {
    const res = await fetch(`${wy.baseUrl}/blobs/raw-text`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'plain bytes' });
    expect(res.status).toBe(201);
    const back = await fetch(`${wy.baseUrl}/blobs/raw-text`);
    expect(back.headers.get('content-type')).toBe('text/plain');
    expect(await back.text()).toBe('plain bytes');
  });
});
