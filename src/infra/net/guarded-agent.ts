// The connect-time half of the SSRF guard: an undici Agent whose connector resolves the host name
// itself, refuses the connection when any resolved address is forbidden, and then connects to the
// very address it checked (so a second DNS answer cannot swap in another one). Every connection
// goes through it — first request, redirects, robots.txt and images alike.
import dns from 'node:dns';
import net from 'node:net';
import type { Agent, buildConnector } from 'undici';
import { withDeadline } from '../deadline.js';
import { type AddressPolicy, decideAddress, isAllowedHost } from './address-policy.js';
import { type GuardErrors, defaultGuardErrors } from './guard-errors.js';
import { loadUndici } from './undici.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses (dns.lookup by default; tests pass their own). */
export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupAll = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface GuardedAgentOptions {
  policy: AddressPolicy;
  connectTimeoutMs: number;
  lookup?: LookupAll;
  /** opens the socket once the address passed; tests wrap it to prove that none is opened */
  baseConnector?: buildConnector.connector;
  /** what a refused or unreachable host throws (default: guard-errors.ts's own errors) */
  errors?: GuardErrors;
  /** hosts (`host` or `host:port`) reached whatever their addresses (see isAllowedHost) */
  allowHosts?: readonly string[];
}

/** Resolves `hostname` and returns the addresses to try, or throws if any of them is forbidden. */
export async function resolveAllowedAddresses(
  hostname: string,
  policy: AddressPolicy,
  lookup: LookupAll,
  timeoutMs: number,
  errors: GuardErrors = defaultGuardErrors,
): Promise<ResolvedAddress[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const family = net.isIP(host);
  const addresses = family ? [{ address: host, family }] : await lookupWithDeadline(host, lookup, timeoutMs, errors);
  if (addresses.length === 0) throw errors.unreachable('network', `host not found: ${host}`);
  // All of them, not only the first: a name that also resolves to 10.0.0.1 is refused whichever
  // address the connection would have used.
  for (const { address } of addresses) {
    const decision = decideAddress(address, policy);
    if (!decision.allowed) throw errors.refused(host, address, decision.reason);
  }
  return addresses;
}

async function lookupWithDeadline(host: string, lookup: LookupAll, timeoutMs: number, errors: GuardErrors): Promise<ResolvedAddress[]> {
  try {
    return await withDeadline(() => lookup(host), timeoutMs, () => {
      throw errors.unreachable('timeout', `resolving ${host} took longer than ${timeoutMs} ms`);
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') throw errors.unreachable('network', `host not found: ${host}`);
    throw error;
  }
}

function guardedConnector(options: GuardedAgentOptions, base: buildConnector.connector): buildConnector.connector {
  const lookup = options.lookup ?? systemLookup;
  const open: AddressPolicy = { ...options.policy, allowPrivate: true };
  return (connectOptions, callback) => {
    const port = Number(connectOptions.port) || (connectOptions.protocol === 'https:' ? 443 : 80);
    const policy = isAllowedHost(options.allowHosts, connectOptions.hostname, port) ? open : options.policy;
    resolveAllowedAddresses(connectOptions.hostname, policy, lookup, options.connectTimeoutMs, options.errors).then(
      (addresses) => connectToFirstReachable(base, connectOptions, addresses, callback),
      (error: Error) => callback(error, null),
    );
  };
}

/** Tries the checked addresses in order (an IPv6 answer may be unreachable where IPv4 works). */
function connectToFirstReachable(
  base: buildConnector.connector,
  connectOptions: buildConnector.Options,
  addresses: ResolvedAddress[],
  callback: buildConnector.Callback,
  index = 0,
): void {
  // `host` keeps the original name, from which undici derives the TLS server name (SNI and the
  // certificate check), while `hostname` pins the socket to the address that was checked.
  base({ ...connectOptions, hostname: addresses[index].address }, (error, socket) => {
    if (error && index + 1 < addresses.length) return connectToFirstReachable(base, connectOptions, addresses, callback, index + 1);
    if (error) callback(error, null);
    else callback(null, socket!);
  });
}

export async function createGuardedAgent(options: GuardedAgentOptions): Promise<Agent> {
  const { Agent, buildConnector } = await loadUndici();
  const base = options.baseConnector ?? buildConnector({ timeout: options.connectTimeoutMs });
  return new Agent({ connect: guardedConnector(options, base), keepAliveTimeout: 4_000 });
}
