// The connect-time guard. Forbidden ranges are fed through name resolution (a lookup that
// answers them), never connected to: the socket opener below refuses anything off loopback, so
// even a broken guard could not send a packet elsewhere, and it records every attempt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConnector, request } from 'undici';
import { type FixtureSite, html, startFixtureSite } from '../../../test/support/harvest-fixture-site.js';
import { RefusedAddressError, UnreachableHostError } from './guard-errors.js';
import { type LookupAll, type ResolvedAddress, createGuardedAgent } from './guarded-agent.js';

function loopbackOnlyConnector() {
  const real = buildConnector({ timeout: 2_000 });
  const attempts: string[] = [];
  const connector: buildConnector.connector = (options, callback) => {
    attempts.push(options.hostname);
    if (!/^(127\.\d+\.\d+\.\d+|::1)$/.test(options.hostname)) return callback(new Error(`test safety net: no connection to ${options.hostname}`), null);
    real(options, callback);
  };
  return { connector, attempts };
}

function answering(addresses: string[]): LookupAll & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
    asked.push(hostname);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { asked });
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the request to fail');
}

describe('guarded agent', () => {
  let site: FixtureSite;
  beforeAll(async () => {
    site = await startFixtureSite({ '/': html('<p>hello</p>') }, { ipv6: true });
  });
  afterAll(() => site.close());

  it.each([
    [['10.0.0.1']],
    [['172.16.0.1']],
    [['192.168.1.10']],
    [['169.254.169.254']],
    [['fd00::1']],
    [['fc00::5']],
    [['fe80::1']],
    [['::ffff:10.0.0.1']],
    [['::ffff:127.0.0.1']],
    [['::ffff:169.254.169.254']],
    [['127.0.0.1']],
    [['::1']],
    [['93.184.216.34', '10.0.0.1']], // one bad answer among good ones is enough
  ])('refuses a name resolving to %j, before any socket', async (addresses) => {
    const safety = loopbackOnlyConnector();
    const lookup = answering(addresses);
    const agent = await createGuardedAgent({ policy: { allowPrivate: false }, connectTimeoutMs: 1_000, lookup, baseConnector: safety.connector });
    const error = await failureOf(request('http://internal.example:8080/', { dispatcher: agent }));
    expect(error).toBeInstanceOf(RefusedAddressError);
    expect(error.message).toMatch(/refused to connect to internal\.example: .* is an? /);
    expect(lookup.asked).toEqual(['internal.example']);
    expect(safety.attempts).toEqual([]);
    await agent.close();
  });

  it('connects to the address it checked, not to a second answer', async () => {
    const safety = loopbackOnlyConnector();
    const agent = await createGuardedAgent({ policy: { allowPrivate: false }, connectTimeoutMs: 1_000, lookup: answering(['93.184.216.34']), baseConnector: safety.connector });
    const error = await failureOf(request('http://public.example/', { dispatcher: agent }));
    // The guard let the public address through; the safety net stopped the socket to it.
    expect(error.message).toContain('test safety net: no connection to 93.184.216.34');
    expect(safety.attempts).toEqual(['93.184.216.34']);
    await agent.close();
  });

  it.each(['http://127.0.0.1:PORT/', 'http://[::1]:PORT/', 'http://[::ffff:127.0.0.1]:PORT/', 'http://2130706433:PORT/', 'http://0x7f.1:PORT/', 'http://localhost:PORT/'])(
    'refuses %s without connecting (the site counts connections)',
    async (template) => {
      const before = site.connections;
      const agent = await createGuardedAgent({ policy: { allowPrivate: false }, connectTimeoutMs: 1_000 });
      const error = await failureOf(request(template.replace('PORT', String(site.port)), { dispatcher: agent }));
      expect(error).toBeInstanceOf(RefusedAddressError);
      expect(error.message).toMatch(/is a loopback address/);
      expect(site.connections).toBe(before);
      await agent.close();
    },
  );

  it('fetches through a resolved name when private addresses are allowed, keeping the Host header', async () => {
    let host = '';
    site.route('/host', (req, res) => {
      host = String(req.headers.host);
      res.end('ok');
    });
    const agent = await createGuardedAgent({ policy: { allowPrivate: true }, connectTimeoutMs: 1_000, lookup: answering(['127.0.0.1']) });
    const response = await request(`http://fixture.test:${site.port}/host`, { dispatcher: agent });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('ok');
    expect(host).toBe(`fixture.test:${site.port}`);
    await agent.close();
  });

  it('allows an exempted address and still refuses the others', async () => {
    const agent = await createGuardedAgent({ policy: { allowPrivate: false, exemptRanges: ['127.0.0.1/32'] }, connectTimeoutMs: 1_000 });
    const ok = await request(`${site.url}/`, { dispatcher: agent });
    expect(ok.statusCode).toBe(200);
    await ok.body.dump();
    const error = await failureOf(request(`http://[::1]:${site.port}/`, { dispatcher: agent }));
    expect(error).toBeInstanceOf(RefusedAddressError);
    await agent.close();
  });

  it('gives up on a lookup that does not answer, and names a host that does not exist', async () => {
    const hanging: LookupAll = () => new Promise(() => {});
    const slowAgent = await createGuardedAgent({ policy: { allowPrivate: true }, connectTimeoutMs: 200, lookup: hanging });
    const started = Date.now();
    const timeout = await failureOf(request('http://never.example/', { dispatcher: slowAgent }));
    expect(timeout).toBeInstanceOf(UnreachableHostError);
    expect(timeout.message).toBe('resolving never.example took longer than 200 ms');
    expect(Date.now() - started).toBeLessThan(2_000);

    const missing: LookupAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const missingAgent = await createGuardedAgent({ policy: { allowPrivate: true }, connectTimeoutMs: 200, lookup: missing });
    const notFound = await failureOf(request('http://nowhere.example/', { dispatcher: missingAgent }));
    expect(notFound.message).toBe('host not found: nowhere.example');
    await Promise.all([slowAgent.close(), missingAgent.close()]);
  });
});
