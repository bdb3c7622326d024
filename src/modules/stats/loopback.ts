// Test traffic goes to this application only, which means a loopback address: a traffic run must
// never become a way to send a million requests somewhere else.
import type { AddressInfo } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError, validationError } from '../../errors.js';

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (host.toLowerCase() === 'localhost') return true;
  if (!ipaddr.isValid(host)) return false;
  return ipaddr.process(host).range() === 'loopback';
}

/** The URL's origin when it is an http(s) URL on a loopback address; a 400 naming `field` otherwise. */
export function loopbackOrigin(raw: string, field: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw validationError(field, `${field}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw validationError(field, `${field}: must be an http:// or https:// URL`);
  if (!isLoopbackHost(url.hostname)) {
    throw validationError(field, `${field}: traffic goes to loopback addresses only (127.0.0.0/8, ::1, localhost), not ${url.hostname}`);
  }
  return url.origin;
}

/** How this server is reached over loopback, from the address it listens on. */
export function loopbackBaseUrl(address: AddressInfo | string | null): string {
  if (!address || typeof address === 'string') throw new AppError('conflict', 'the server is not listening on a TCP port, so there is nothing to send traffic to');
  const { address: host, port } = address;
  if (host === '0.0.0.0' || host === '::' || host === '::ffff:0.0.0.0') return `http://127.0.0.1:${port}`;
  if (!isLoopbackHost(host)) {
    throw new AppError('conflict', `the server listens on ${host} only, which is not a loopback address; test traffic goes to loopback only`);
  }
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
