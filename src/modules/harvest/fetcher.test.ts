// The fetcher against a fixture site on loopback (private addresses allowed, except where a test
// exempts only one address to show a redirect being refused).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureSite, bytes, html, redirect, slow, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { HarvestError, UnreachableError, harvestGuardErrors } from './errors.js';
import { Fetcher } from './fetcher.js';
import { createGuardedAgent } from '../../infra/net/guarded-agent.js';

const timeouts = { totalMs: 3_000, headersMs: 1_000, bodyIdleMs: 1_000 };
const options = { accept: '*/*', maxBytes: 1_000, timeouts };

async function failureOf(promise: Promise<unknown>): Promise<HarvestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(HarvestError);
    return error as HarvestError;
  }
  throw new Error('expected the fetch to fail');
}

describe('fetcher', () => {
  let site: FixtureSite;
  const agent = createGuardedAgent({ policy: { allowPrivate: true }, connectTimeoutMs: 1_000, errors: harvestGuardErrors });
  const fetcher = new Fetcher(() => agent, 'Workyard/test (+harvest)');
  const url = (path: string) => new URL(path, site.url);

  beforeAll(async () => {
    site = await startFixtureSite({
      '/page': html('<p>hi</p>'),
      '/r1': redirect('/r2', 301),
      '/r2': redirect('r3', 307),
      '/r3': redirect('/page#frag', 302),
      '/loop-a': redirect('/loop-b'),
      '/loop-b': redirect('/loop-a'),
      '/to-ftp': redirect('ftp://example.com/file'),
      '/to-file': redirect('file:///etc/passwd'),
      '/big-declared': bytes(Buffer.alloc(1_001, 97), 'text/plain'),
      '/big-chunked': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const timer = setInterval(() => res.write(Buffer.alloc(300, 98)), 5);
        res.on('close', () => clearInterval(timer));
      },
      '/exact': bytes(Buffer.alloc(1_000, 99), 'text/plain'),
      '/in-parts': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        let part = 0;
        const timer = setInterval(() => (part < 3 ? res.write(`part ${part++};`) : (clearInterval(timer), res.end('end'))), 5);
      },
      '/no-headers': slow(5_000, html('late')),
      '/stalls': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<p>start');
      },
      '/missing': (_req, res) => void res.writeHead(404).end('gone'),
      '/bad-location': (_req, res) => void res.writeHead(302, { location: 'http://[not-an-ip/' }).end(),
    });
    for (let i = 0; i < 7; i++) site.route(`/chain${i}`, redirect(`/chain${i + 1}`));
    site.route('/chain7', html('end'));
  });
  afterAll(async () => {
    await (await agent).close();
    await site.close();
  });

  it('hashes a body as it streams in, when asked', async () => {
    const fetched = await fetcher.fetch(url('/in-parts'), { ...options, sha256: true });
    expect(fetched.body.toString()).toBe('part 0;part 1;part 2;end');
    expect(fetched.sha256).toBe(createHash('sha256').update('part 0;part 1;part 2;end').digest('hex'));
    expect((await fetcher.fetch(url('/in-parts'), options)).sha256).toBeUndefined();
  });

  it('follows relative redirects of every kind and drops the fragment', async () => {
    const fetched = await fetcher.fetch(url('/r1'), options);
    expect(fetched.status).toBe(200);
    expect(fetched.url.href).toBe(`${site.url}/page`);
    expect(fetched.body.toString()).toBe('<p>hi</p>');
    expect(fetched.contentType).toBe('text/html; charset=utf-8');
  });

  it('sends the Workyard User-Agent', async () => {
    await fetcher.fetch(url('/page'), options);
    expect([...site.userAgents]).toContain('Workyard/test (+harvest)');
  });

  it('follows five redirects but not six', async () => {
    const five = await fetcher.fetch(url('/chain2'), options);
    expect(five.body.toString()).toBe('end');
    const six = await failureOf(fetcher.fetch(url('/chain1'), options));
    expect(six.failure).toBe('redirect');
    expect(six.message).toBe(`more than 5 redirects from ${site.url}/chain1`);
  });

  it('stops a redirect loop', async () => {
    const error = await failureOf(fetcher.fetch(url('/loop-a'), options));
    expect(error.message).toBe(`redirect loop: ${site.url}/loop-a → ${site.url}/loop-b → ${site.url}/loop-a`);
  });

  it('refuses a redirect to another scheme', async () => {
    expect((await failureOf(fetcher.fetch(url('/to-ftp'), options))).message).toBe('refused ftp://example.com/file: only http and https URLs are fetched');
    expect((await failureOf(fetcher.fetch(url('/to-file'), options))).failure).toBe('refused');
    expect((await failureOf(fetcher.fetch(url('/bad-location'), options))).message).toMatch(/redirects to an invalid URL/);
  });

  it('runs beforeRequest on every hop', async () => {
    const seen: string[] = [];
    await fetcher.fetch(url('/r1'), { ...options, beforeRequest: async (hop) => void seen.push(hop.pathname) });
    expect(seen).toEqual(['/r1', '/r2', '/r3', '/page']);
    const refused = await failureOf(
      fetcher.fetch(url('/r1'), {
        ...options,
        beforeRequest: async (hop) => {
          if (hop.pathname === '/r3') throw new HarvestError('refused', 'not /r3');
        },
      }),
    );
    expect(refused.message).toBe('not /r3');
  });

  it('caps the body: by Content-Length before reading, and while streaming', async () => {
    expect((await fetcher.fetch(url('/exact'), options)).body.length).toBe(1_000);
    const declared = await failureOf(fetcher.fetch(url('/big-declared'), { ...options, maxBytesName: 'THE_CAP' }));
    expect(declared.failure).toBe('too_large');
    expect(declared.message).toBe(`${site.url}/big-declared is larger than 1000 bytes (THE_CAP)`);
    const streamed = await failureOf(fetcher.fetch(url('/big-chunked'), options));
    expect(streamed.failure).toBe('too_large');
  });

  it('times out waiting for headers, on a stalled body, and over the whole exchange', async () => {
    const headers = await failureOf(fetcher.fetch(url('/no-headers'), { ...options, timeouts: { totalMs: 5_000, headersMs: 300, bodyIdleMs: 300 } }));
    expect(headers.message).toBe(`no response from ${site.url}/no-headers within 300 ms`);
    const stalled = await failureOf(fetcher.fetch(url('/stalls'), { ...options, timeouts: { totalMs: 5_000, headersMs: 300, bodyIdleMs: 300 } }));
    expect(stalled.message).toBe(`the body of ${site.url}/stalls stalled for more than 300 ms`);
    const started = Date.now();
    const total = await failureOf(fetcher.fetch(url('/stalls'), { ...options, timeouts: { totalMs: 400, headersMs: 5_000, bodyIdleMs: 5_000 } }));
    expect(total.failure).toBe('timeout');
    expect(total.message).toBe(`no complete answer from ${site.url}/stalls within 400 ms`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('returns a non-2xx status without its body', async () => {
    const fetched = await fetcher.fetch(url('/missing'), options);
    expect(fetched.status).toBe(404);
    expect(fetched.body.length).toBe(0);
  });

  it('stops when the job is aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failureOf(fetcher.fetch(url('/stalls'), { ...options, signal: controller.signal, timeouts: { totalMs: 5_000, headersMs: 5_000, bodyIdleMs: 5_000 } }));
    expect(error.failure).toBe('aborted');
  });

  it('names a refused connection, and a host without an address, as the URL being unreachable', async () => {
    // port 1: below the ephemeral range, so no other test's server can be listening there
    const port = 1;
    const error = await failureOf(fetcher.fetch(new URL(`http://127.0.0.1:${port}/page`), options));
    expect(error).toBeInstanceOf(UnreachableError);
    expect(error.failure).toBe('network');
    expect(error.message).toBe(`http://127.0.0.1:${port}/page is unreachable: connection refused by 127.0.0.1:${port}`);

    const noAddressAgent = await createGuardedAgent({ policy: { allowPrivate: true }, connectTimeoutMs: 1_000, lookup: async () => [], errors: harvestGuardErrors });
    const noAddress = new Fetcher(async () => noAddressAgent, 'Workyard/test (+harvest)');
    const notFound = await failureOf(noAddress.fetch(new URL('http://nowhere.test/page'), options));
    expect(notFound).toBeInstanceOf(UnreachableError);
    expect(notFound.message).toBe('http://nowhere.test/page is unreachable: host not found: nowhere.test');
    await noAddressAgent.close();
  });

  it('refuses a redirect to a loopback address the guard forbids, without connecting there', async () => {
    // The first hop is on 127.0.0.2, exempted; the redirect goes to 127.0.0.1, which is not.
    const target = await startFixtureSite({ '/': html('secret') });
    const front = await startFixtureSite({ '/': redirect(`${target.url}/`) }, { host: '127.0.0.2' });
    const guardedAgent = await createGuardedAgent({ policy: { allowPrivate: false, exemptRanges: ['127.0.0.2/32'] }, connectTimeoutMs: 1_000, errors: harvestGuardErrors });
    const guarded = new Fetcher(async () => guardedAgent, 'Workyard/test (+harvest)');
    const error = await failureOf(guarded.fetch(new URL(`${front.url}/`), options));
    expect(error.failure).toBe('refused');
    expect(error.message).toMatch(/^refused to connect to 127\.0\.0\.1: 127\.0\.0\.1 is a loopback address/);
    expect(front.hits('/')).toBe(1);
    expect(target.connections).toBe(0);
    await guardedAgent.close();
    await Promise.all([front.close(), target.close()]);
  });
});
