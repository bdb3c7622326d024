// What the release checks ask of a running Workyard, as a user would: it is alive and ready, a
// sum is computed by a worker, a blob reads back as written, and a queued feedback save lands.
import { randomBytes } from 'node:crypto';

export class CheckFailure extends Error {}

async function request(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
}

async function expectStatus(response: Response, status: number, what: string): Promise<string> {
  const body = await response.text();
  if (response.status !== status) throw new CheckFailure(`${what}: expected ${status}, got ${response.status}: ${body.slice(0, 500)}`);
  return body;
}

/** Polls until the service answers /healthz 200; fails when `exited` settles first or at the deadline. */
export async function waitForHealthz(baseUrl: string, timeoutMs: number, exited: Promise<unknown>, output: () => string): Promise<number> {
  const started = performance.now();
  let gone = false;
  void exited.then(() => (gone = true));
  while (performance.now() - started < timeoutMs && !gone) {
    try {
      const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new CheckFailure(`${baseUrl}/healthz did not answer 200 ${gone ? 'before the process exited' : `within ${timeoutMs / 1000} s`}:\n${output()}`);
}

export async function checkReadyz(baseUrl: string, expectDependencies: string[] = []): Promise<string> {
  const body = JSON.parse(await expectStatus(await request(`${baseUrl}/readyz`), 200, 'GET /readyz'));
  const text = JSON.stringify(body);
  for (const name of expectDependencies) if (!text.includes(name)) throw new CheckFailure(`GET /readyz does not report ${name}: ${text}`);
  return text.length > 160 ? text.slice(0, 160) + '…' : text;
}

export async function checkSyncSum(apiUrl: string): Promise<string> {
  const response = await request(`${apiUrl}/sync/sum`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ numbers: [1, 2.5, 39] }) });
  const body = JSON.parse(await expectStatus(response, 200, 'POST /sync/sum'));
  if (body.result !== 42.5) throw new CheckFailure(`POST /sync/sum [1, 2.5, 39]: expected 42.5, got ${JSON.stringify(body)}`);
  return `[1, 2.5, 39] → ${body.result}`;
}

export async function checkBlobPutGet(apiUrl: string): Promise<string> {
  const key = `release-check-${randomBytes(4).toString('hex')}.bin`;
  const bytes = randomBytes(64 * 1024);
  await expectStatus(await request(`${apiUrl}/blobs/${key}`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes }), 201, `PUT /blobs/${key}`);
  const response = await request(`${apiUrl}/blobs/${key}`);
  if (response.status !== 200) throw new CheckFailure(`GET /blobs/${key}: expected 200, got ${response.status}`);
  const read = Buffer.from(await response.arrayBuffer());
  if (!read.equals(bytes)) throw new CheckFailure(`GET /blobs/${key}: ${read.length} bytes read back differ from the ${bytes.length} put`);
  return `${bytes.length} bytes put and read back`;
}

/** A queued save (202), then /feedback.json polled until the worker has written the row. */
export async function checkQueuedFeedback(apiUrl: string, timeoutMs = 30_000): Promise<string> {
  const name = `Release check ${randomBytes(4).toString('hex')}`;
  const response = await request(`${apiUrl}/feedback/async`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, email: 'release@example.com', message: 'Queued by the release check.', rating: 5 }),
  });
  const { task_id: taskId } = JSON.parse(await expectStatus(response, 202, 'POST /feedback/async'));
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const list = JSON.parse(await expectStatus(await request(`${apiUrl}/feedback.json`), 200, 'GET /feedback.json'));
    if ((list.items as { name: string }[]).some((item) => item.name === name)) return `task ${taskId} saved by a worker in ${Math.round(performance.now() - started)} ms`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new CheckFailure(`the queued feedback save (task ${taskId}) was not listed at /feedback.json within ${timeoutMs / 1000} s`);
}
