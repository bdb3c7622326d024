// Links that expire and who may read and write blobs (WORKYARD_BLOBS_READ_ACCESS /
// WORKYARD_BLOBS_WRITE_ACCESS): a PUT link writes one blob with no other credential (and no more
// than its max_bytes), a GET link reads one; an expired, altered or wrong-method link is a 403
// naming why; a link made on one node works on another; a rotated key still verifies.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../../../test/support/workyard.js';
import { loadConfig } from '../../config.js';
import { type BlobsInstance, blobsModule } from './index.js';
import { LINK_PARAMS, signLink } from './signed-links.js';

const KEY = 'links-test-api-key';
const admin = { authorization: `Bearer ${KEY}` };
const SIGNING = 'first-signing-key-0123456789';
const OLD_SIGNING = 'older-signing-key-0123456789';

describe('signed links and blob access', () => {
  let nodeA: TestWorkyard;
  let nodeB: TestWorkyard;
  const env = { WORKYARD_API_KEY: KEY, WORKYARD_BLOBS_WRITE_ACCESS: 'key', WORKYARD_BLOBS_READ_ACCESS: 'key', WORKYARD_SIGNING_KEY: `${SIGNING},${OLD_SIGNING}` };
  beforeAll(async () => {
    // two API nodes that share nothing but their configuration
    nodeA = await startTestWorkyard(env);
    nodeB = await startTestWorkyard(env);
  });
  afterAll(async () => {
    await nodeA?.close();
    await nodeB?.close();
  });

  const request = (node: TestWorkyard, method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(node.baseUrl + path, { method, headers, body });
  const makeLink = async (key: string, payload: Record<string, unknown>) => {
    const res = await request(nodeA, 'POST', `/blobs/${key}/links`, JSON.stringify(payload), { ...admin, 'content-type': 'application/json' });
    expect(res.status).toBe(201);
    return (await res.json()) as { url: string; path: string; method: string; expires_at: string };
  };

  it('closes reads and writes to all but the key holder', async () => {
    expect((await request(nodeA, 'PUT', '/blobs/closed/a.txt', 'x')).status).toBe(401);
    expect((await request(nodeA, 'PUT', '/blobs/closed/a.txt', 'x', admin)).status).toBe(201);
    const refused = await request(nodeA, 'GET', '/blobs/closed/a.txt');
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('WORKYARD_BLOBS_READ_ACCESS=key');
    expect((await request(nodeA, 'HEAD', '/blobs/closed/a.txt')).status).toBe(401);
    expect((await request(nodeA, 'GET', '/blobs?prefix=closed/')).status).toBe(401);
    expect((await request(nodeA, 'GET', '/get/closed/a.txt')).status).toBe(401);
    const put = await request(nodeA, 'POST', '/put/', JSON.stringify({ key: 'closed/b', extension: 'txt', data: 'eA==' }), { 'content-type': 'application/json' });
    expect(put.status).toBe(401);
    expect((await request(nodeA, 'GET', '/blobs/closed/a.txt', undefined, admin)).status).toBe(200);
  });

  it('writes with a PUT link and reads with a GET link, on another node too', async () => {
    const putLink = await makeLink('shared/report v1.txt', { method: 'PUT', expires_in: 600 });
    expect(putLink.method).toBe('PUT');
    expect(putLink.url).toBe(`${nodeA.baseUrl}${putLink.path}`);
    expect(putLink.path).toMatch(/^\/blobs\/shared\/report%20v1\.txt\?wy-method=PUT&wy-expires=\d+&wy-signature=[\w-]+$/);
    expect(Date.parse(putLink.expires_at) - Date.now()).toBeGreaterThan(590_000);
    expect((await request(nodeB, 'PUT', putLink.path, 'written with a link', { 'content-type': 'text/plain' })).status).toBe(201);
    const getLink = await makeLink('shared/report v1.txt', { method: 'GET', expires_in: 600 });
    const read = await request(nodeB, 'GET', getLink.path);
    expect(read.status).toBe(200);
    expect(await read.text()).toBe('written with a link');
    expect((await request(nodeB, 'HEAD', getLink.path)).status).toBe(200);
  });

  it('refuses an expired, altered or wrong-method link with 403 naming the reason', async () => {
    const reason = async (res: Response) => {
      expect(res.status).toBe(403);
      return ((await res.json()) as { error: { code: string; reason: string } }).error;
    };
    const getLink = await makeLink('shared/x.txt', { method: 'GET', expires_in: 600 });
    expect(await reason(await request(nodeA, 'PUT', getLink.path, 'x'))).toMatchObject({ code: 'forbidden', reason: 'wrong-method' });
    // another blob, a later expiry, a changed signature: each breaks the signature
    expect((await reason(await request(nodeA, 'GET', getLink.path.replace('x.txt', 'y.txt')))).reason).toBe('bad-signature');
    const later = getLink.path.replace(/wy-expires=(\d+)/, (_, s: string) => `wy-expires=${Number(s) + 3600}`);
    expect((await reason(await request(nodeA, 'GET', later))).reason).toBe('bad-signature');
    const flipped = getLink.path.replace(/wy-signature=(.)/, (_, c: string) => `wy-signature=${c === 'A' ? 'B' : 'A'}`);
    expect((await reason(await request(nodeA, 'GET', flipped))).reason).toBe('bad-signature');
    expect((await reason(await request(nodeA, 'GET', `/blobs/shared/x.txt?${LINK_PARAMS.signature}=abc`))).reason).toBe('malformed');
    // a link presented is checked even with the key (never quietly ignored)
    expect((await reason(await request(nodeA, 'GET', flipped, undefined, admin))).reason).toBe('bad-signature');
    const short = await makeLink('shared/x.txt', { method: 'GET', expires_in: 1 });
    await sleep(1_100);
    const expired = await reason(await request(nodeA, 'GET', short.path));
    expect(expired.reason).toBe('expired');
  });

  it('keeps a PUT link to its max_bytes', async () => {
    const link = await makeLink('shared/small.bin', { method: 'PUT', expires_in: 600, max_bytes: 10 });
    expect((await request(nodeA, 'PUT', link.path, '0123456789a')).status).toBe(413);
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('0123456'));
        controller.enqueue(new TextEncoder().encode('89abcdef'));
        controller.close();
      },
    });
    const streamed = await fetch(nodeA.baseUrl + link.path, { method: 'PUT', body: chunked, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await request(nodeA, 'PUT', link.path, '0123456789')).status).toBe(201);
  });

  it('verifies links signed with an older key in the list, not with a key it does not have', async () => {
    const expires = Math.floor(Date.now() / 1000) + 600;
    await request(nodeA, 'PUT', '/blobs/shared/rotated.txt', 'rotated', admin);
    const older = signLink([OLD_SIGNING], { method: 'GET', key: 'shared/rotated.txt', expires });
    expect((await request(nodeA, 'GET', `/blobs/shared/rotated.txt?${older}`)).status).toBe(200);
    const unknown = signLink(['a-key-this-server-never-had'], { method: 'GET', key: 'shared/rotated.txt', expires });
    expect((await request(nodeA, 'GET', `/blobs/shared/rotated.txt?${unknown}`)).status).toBe(403);
  });

  it('makes links for the admin only, naming a bad field', async () => {
    const post = (body: unknown, headers: Record<string, string> = admin) => request(nodeA, 'POST', '/blobs/a/links', JSON.stringify(body), { ...headers, 'content-type': 'application/json' });
    expect((await post({ method: 'GET' }, {})).status).toBe(401);
    const field = async (body: unknown) => ((await (await post(body)).json()) as { error: { field: string } }).error.field;
    expect(await field({ method: 'DELETE' })).toBe('method');
    expect(await field({ method: 'GET', expires_in: 0 })).toBe('expires_in');
    expect(await field({ method: 'GET', max_bytes: 5 })).toBe('max_bytes');
    expect((await request(nodeA, 'POST', '/blobs/a/other', '{}', { ...admin, 'content-type': 'application/json' })).status).toBe(404);
  });
});

describe('blob access settings', () => {
  it('refuses `key` without an API key to hold, and short signing keys, naming the variable', () => {
    expect(() => loadConfig({ WORKYARD_BLOBS_WRITE_ACCESS: 'key' })).toThrow(/WORKYARD_BLOBS_WRITE_ACCESS/);
    expect(() => loadConfig({ WORKYARD_BLOBS_READ_ACCESS: 'token' })).toThrow(/WORKYARD_BLOBS_READ_ACCESS/);
    expect(() => loadConfig({ WORKYARD_SIGNING_KEY: 'short' })).toThrow(/WORKYARD_SIGNING_KEY/);
    expect(loadConfig({ WORKYARD_API_KEY: 'k', WORKYARD_BLOBS_WRITE_ACCESS: 'key', WORKYARD_SIGNING_KEY: `${SIGNING}, ${OLD_SIGNING}` }).blobs).toMatchObject({ writeAccess: 'key', readAccess: 'open', signingKeys: [SIGNING, OLD_SIGNING] });
  });

  it('keeps one signing key in the database when none is configured, the same for every node on it', async () => {
    const first = await startTestWorkyard({});
    const second = await startTestWorkyard({ WORKYARD_DATA_DIR: first.dataDir });
    try {
      const keys = (wy: TestWorkyard) => wy.workyard.instanceOf<BlobsInstance>(blobsModule).access.signingKeys;
      expect(keys(first)).toHaveLength(1);
      expect(keys(first)[0].length).toBeGreaterThanOrEqual(40);
      expect(keys(second)).toEqual(keys(first));
      // and open access stays open: a link is not needed, but one presented is still checked
      expect((await fetch(`${first.baseUrl}/blobs/open.txt`, { method: 'PUT', body: 'open' })).status).toBe(201);
      expect((await fetch(`${first.baseUrl}/blobs/open.txt?${LINK_PARAMS.signature}=x&${LINK_PARAMS.method}=GET&${LINK_PARAMS.expires}=1`)).status).toBe(403);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
