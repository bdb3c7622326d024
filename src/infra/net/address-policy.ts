// Which addresses outbound requests (harvest, webhooks) may connect to. A pure decision over one IP address, so it can be tested
// on every range without sending a packet anywhere: only global unicast passes, unless private
// addresses are allowed (WORKYARD_HARVEST_ALLOW_PRIVATE, WORKYARD_WEBHOOKS_ALLOW_PRIVATE) or the address is explicitly exempted.
import ipaddr from 'ipaddr.js';

export interface AddressPolicy {
  /** the caller's *_ALLOW_PRIVATE setting: loopback, private, link-local … are allowed too */
  allowPrivate: boolean;
  /** CIDR ranges treated as public even though they are not (an intranet, or a test fixture) */
  exemptRanges?: string[];
}

/**
 * Whether `hostname` at `port` is on an allow-list of `host` or `host:port` entries (lowercase;
 * an IPv6 address in brackets): such a host is reached whatever its addresses, as an operator
 * asked for it by name (WORKYARD_HARVEST_ALLOW_HOSTS).
 */
export function isAllowedHost(allowHosts: readonly string[] | undefined, hostname: string, port: number): boolean {
  if (!allowHosts?.length) return false;
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return allowHosts.some((entry) => {
    const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(entry);
    if (!match) return false;
    return (match[1] ?? match[2]) === host && (match[3] === undefined || Number(match[3]) === port);
  });
}

export type AddressDecision = { allowed: true } | { allowed: false; range: string; reason: string };

// ipaddr.js range names, as people say them in an error message.
const rangeNames: Record<string, string> = {
  unspecified: 'an unspecified',
  broadcast: 'a broadcast',
  multicast: 'a multicast',
  linkLocal: 'a link-local',
  loopback: 'a loopback',
  carrierGradeNat: 'a carrier-grade NAT (shared)',
  private: 'a private',
  reserved: 'a reserved',
  uniqueLocal: 'a unique-local',
  deprecatedSiteLocal: 'a site-local',
  teredo: 'a Teredo tunnel',
  '6to4': 'a 6to4 tunnel',
  ipv4Compatible: 'a deprecated IPv4-compatible',
};

// Cloud metadata services answer on these; they get their own words because they are the classic target.
const metadataAddresses = new Set(['169.254.169.254', '169.254.170.2', 'fd00:ec2::254', '100.100.100.200']);

export function decideAddress(address: string, policy: AddressPolicy): AddressDecision {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return { allowed: false, range: 'invalid', reason: `${address} is not an IP address` };
  }
  const effective = embeddedIPv4(parsed) ?? parsed;
  if (policy.exemptRanges?.some((cidr) => inRange(effective, cidr))) return { allowed: true };
  const range = isIPv4Compatible(effective) ? 'ipv4Compatible' : effective.range();
  if (range === 'unicast') return { allowed: true };
  if (policy.allowPrivate) return { allowed: true };
  const shown = effective === parsed ? address : `${address} (${effective.toString()})`;
  if (metadataAddresses.has(effective.toNormalizedString()) || metadataAddresses.has(effective.toString())) {
    return { allowed: false, range: 'metadata', reason: `${shown} is a cloud metadata address` };
  }
  return { allowed: false, range, reason: `${shown} is ${rangeNames[range] ?? `a special-purpose (${range})`} address` };
}

/**
 * IPv6 forms that carry an IPv4 address (::ffff:a.b.c.d, NAT64 64:ff9b::/96) reach that IPv4
 * address, so they are judged as it; otherwise ::ffff:127.0.0.1 would pass as "IPv6".
 */
function embeddedIPv4(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | null {
  if (address.kind() !== 'ipv6') return null;
  const v6 = address as ipaddr.IPv6;
  const range = v6.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || (range === 'rfc6052' && v6.parts[2] === 0)) {
    const bytes = v6.toByteArray();
    return new ipaddr.IPv4(bytes.slice(12));
  }
  return null;
}

/** ::a.b.c.d: deprecated, never a public destination, and ipaddr.js would call it unicast. */
function isIPv4Compatible(address: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (address.kind() !== 'ipv6') return false;
  const parts = (address as ipaddr.IPv6).parts;
  return parts.slice(0, 6).every((part) => part === 0) && !(parts[6] === 0 && parts[7] <= 1);
}

function inRange(address: ipaddr.IPv4 | ipaddr.IPv6, cidr: string): boolean {
  try {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    return address.kind() === network.kind() && address.match(network, bits);
  } catch {
    return false;
  }
}

/** Checks a CIDR list up front, so a bad exemption fails at start-up rather than on the first fetch. */
export function assertValidRanges(ranges: string[]): void {
  for (const cidr of ranges) ipaddr.parseCIDR(cidr);
}
