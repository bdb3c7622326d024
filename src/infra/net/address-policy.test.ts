// The SSRF decision on every range the issue names, without a packet sent anywhere.
import { describe, expect, it } from 'vitest';
import { assertValidRanges, decideAddress, isAllowedHost } from './address-policy.js';

const guarded = { allowPrivate: false };

describe('address policy', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.0.1', 'private'],
    ['192.168.255.255', 'private'],
    ['169.254.169.254', 'metadata'],
    ['169.254.1.1', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456:789a::1', 'uniqueLocal'],
    ['fd00:ec2::254', 'metadata'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.100.100.200', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'reserved'],
  ])('refuses %s (%s)', (address, range) => {
    const decision = decideAddress(address, guarded);
    expect(decision).toMatchObject({ allowed: false, range });
    if (!decision.allowed) expect(decision.reason).toContain(address);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['::ffff:172.16.5.4', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:0:127.0.0.1', 'loopback'], // SIIT (RFC 6145)
    ['64:ff9b::10.0.0.1', 'private'], // NAT64 (RFC 6052)
    ['64:ff9b::a9fe:a9fe', 'metadata'],
  ])('refuses the IPv4 inside %s (%s)', (address, range) => {
    const decision = decideAddress(address, guarded);
    expect(decision).toMatchObject({ allowed: false, range });
    if (!decision.allowed) expect(decision.reason).toMatch(/\(.*\)/);
  });

  it('refuses the deprecated IPv4-compatible form and tunnels', () => {
    // ipaddr.js reads this one as IPv4-mapped; refused either way.
    expect(decideAddress('::127.0.0.1', guarded)).toMatchObject({ allowed: false });
    expect(decideAddress('::7f00:1', guarded)).toMatchObject({ allowed: false, range: 'ipv4Compatible' });
    expect(decideAddress('2002:7f00:1::1', guarded)).toMatchObject({ allowed: false, range: '6to4' });
    expect(decideAddress('2001:0:4136:e378::1', guarded)).toMatchObject({ allowed: false });
  });

  it('refuses what is not an IP address', () => {
    expect(decideAddress('localhost', guarded)).toMatchObject({ allowed: false, range: 'invalid' });
    expect(decideAddress('', guarded)).toMatchObject({ allowed: false, range: 'invalid' });
  });

  it.each(['93.184.216.34', '8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '[2606:4700:4700::1111]'])(
    'allows the public address %s',
    (address) => {
      expect(decideAddress(address, guarded)).toEqual({ allowed: true });
    },
  );

  it('allows everything when private addresses are allowed', () => {
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '169.254.169.254', 'fd00::1', '::ffff:127.0.0.1']) {
      expect(decideAddress(address, { allowPrivate: true })).toEqual({ allowed: true });
    }
  });

  it('allows exempted ranges only', () => {
    const policy = { allowPrivate: false, exemptRanges: ['127.0.0.2/32', '10.20.0.0/16'] };
    expect(decideAddress('127.0.0.2', policy)).toEqual({ allowed: true });
    expect(decideAddress('10.20.3.4', policy)).toEqual({ allowed: true });
    expect(decideAddress('::ffff:127.0.0.2', policy)).toEqual({ allowed: true });
    expect(decideAddress('127.0.0.1', policy)).toMatchObject({ allowed: false });
    expect(decideAddress('10.21.0.1', policy)).toMatchObject({ allowed: false });
  });

  it('says why in words', () => {
    expect(decideAddress('127.0.0.1', guarded)).toMatchObject({ reason: '127.0.0.1 is a loopback address' });
    expect(decideAddress('169.254.169.254', guarded)).toMatchObject({ reason: '169.254.169.254 is a cloud metadata address' });
    expect(decideAddress('::ffff:10.0.0.1', guarded)).toMatchObject({ reason: '::ffff:10.0.0.1 (10.0.0.1) is a private address' });
  });

  it('rejects a malformed exemption up front', () => {
    expect(() => assertValidRanges(['10.0.0.0/8', 'fd00::/8'])).not.toThrow();
    expect(() => assertValidRanges(['10.0.0.0'])).toThrow();
  });

  it('allows a listed host by name or address, on its port when the entry names one', () => {
    const list = ['127.0.0.1:8080', 'intranet.example', '[::1]:9000'];
    expect(isAllowedHost(list, '127.0.0.1', 8080)).toBe(true);
    expect(isAllowedHost(list, '127.0.0.1', 8081)).toBe(false);
    expect(isAllowedHost(list, 'INTRANET.example', 443)).toBe(true);
    expect(isAllowedHost(list, 'other.example', 443)).toBe(false);
    expect(isAllowedHost(list, '[::1]', 9000)).toBe(true);
    expect(isAllowedHost(list, '::1', 9001)).toBe(false);
    expect(isAllowedHost([], '127.0.0.1', 8080)).toBe(false);
  });
});
