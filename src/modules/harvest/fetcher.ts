// One GET as harvest does it: through the guarded agent, redirects followed by hand (at most 5,
// each one checked again by the connector and by `beforeRequest`), a deadline over the whole
// exchange, and a byte cap enforced while the body streams in, so a huge or endless answer
// costs at most the cap.
import { createHash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { loadUndici } from '../../infra/net/undici.js';
import { HarvestError, UnreachableError } from './errors.js';

export const MAX_REDIRECTS = 5;

export interface FetchTimeouts {
  /** from the first request to the last byte of the last redirect hop */
  totalMs: number;
  /** waiting for the response headers of one hop */
  headersMs: number;
  /** the longest pause between two body chunks */
  bodyIdleMs: number;
}

export interface FetchOptions {
  accept: string;
  maxBytes: number;
  timeouts: FetchTimeouts;
  /** what the cap is called in the error message, e.g. "WORKYARD_HARVEST_MAX_IMAGE_BYTES" */
  maxBytesName?: string;
  /** aborted when the job must stop (worker shutdown) */
  signal?: AbortSignal;
  /** runs before every hop, redirects included (robots.txt); throws to refuse */
  beforeRequest?: (url: URL) => Promise<void>;
  /** a conditional request: the validators of the version held (a 304 then answers with no body) */
  validators?: Validators;
  /** the body's sha256 is computed as it streams in (FetchedResource.sha256) */
  sha256?: boolean;
}

/** What identifies a version of a resource (RFC 9110 §8.8), as the server sent them. */
export interface Validators {
  etag?: string;
  lastModified?: string;
}

export interface FetchedResource {
  /** where the body came from, after redirects */
  url: URL;
  status: number;
  /** the raw Content-Type header, if any */
  contentType: string | undefined;
  /** empty unless the status is 2xx */
  body: Buffer;
  /** the body's sha256 (hex), when asked for and the status is 2xx */
  sha256?: string;
  /** the Retry-After header of a 429 or 503 */
  retryAfter?: string;
  /** ETag and Last-Modified of a 2xx or 304 */
  validators?: Validators;
}

export class Fetcher {
  constructor(
    /** asked on every request, so the agent can be replaced after a close */
    private readonly dispatcher: () => Promise<Dispatcher>,
    private readonly userAgent: string,
  ) {}

  async fetch(url: URL, options: FetchOptions): Promise<FetchedResource> {
    const deadline = AbortSignal.timeout(options.timeouts.totalMs);
    const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
    const visited = [url.href];
    const { request } = await loadUndici();
    let current = url;
    try {
      for (let hop = 0; ; hop++) {
        assertFetchableScheme(current);
        await options.beforeRequest?.(current);
        const response = await request(current, {
          method: 'GET',
          dispatcher: await this.dispatcher(),
          headers: {
            'user-agent': this.userAgent,
            accept: options.accept,
            ...(options.validators?.etag ? { 'if-none-match': options.validators.etag } : {}),
            ...(options.validators?.lastModified ? { 'if-modified-since': options.validators.lastModified } : {}),
          },
          headersTimeout: options.timeouts.headersMs,
          bodyTimeout: options.timeouts.bodyIdleMs,
          signal,
        });
        const location = header(response.headers, 'location');
        if (response.statusCode >= 300 && response.statusCode < 400 && location) {
          discard(response.body);
          const next = resolveRedirect(current, location);
          if (visited.includes(next.href)) throw new HarvestError('redirect', `redirect loop: ${[...visited, next.href].join(' → ')}`);
          if (hop + 1 > MAX_REDIRECTS) throw new HarvestError('redirect', `more than ${MAX_REDIRECTS} redirects from ${url.href}`);
          visited.push(next.href);
          current = next;
          continue;
        }
        const contentType = header(response.headers, 'content-type');
        const etag = header(response.headers, 'etag');
        const lastModified = header(response.headers, 'last-modified');
        const validators = etag || lastModified ? { validators: { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) } } : {};
        if (response.statusCode === 304) {
          discard(response.body);
          return { url: current, status: 304, contentType, body: Buffer.alloc(0), ...validators };
        }
        if (response.statusCode < 200 || response.statusCode >= 300) {
          discard(response.body);
          const retryAfter = response.statusCode === 429 || response.statusCode === 503 ? header(response.headers, 'retry-after') : undefined;
          return { url: current, status: response.statusCode, contentType, body: Buffer.alloc(0), ...(retryAfter ? { retryAfter } : {}) };
        }
        const { body, sha256 } = await readCapped(response, current, options);
        return { url: current, status: response.statusCode, contentType, body, ...(sha256 ? { sha256 } : {}), ...validators };
      }
    } catch (error) {
      throw describeFetchError(error, current, options, deadline);
    }
  }
}

function assertFetchableScheme(url: URL): void {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HarvestError('refused', `refused ${url.href}: only http and https URLs are fetched`);
  }
}

function resolveRedirect(from: URL, location: string): URL {
  try {
    const next = new URL(location, from);
    next.hash = '';
    return next;
  } catch {
    throw new HarvestError('redirect', `${from.href} redirects to an invalid URL: ${location.slice(0, 200)}`);
  }
}

async function readCapped(response: Dispatcher.ResponseData, url: URL, options: FetchOptions): Promise<{ body: Buffer; sha256?: string }> {
  const tooLarge = () =>
    new HarvestError('too_large', `${url.href} is larger than ${options.maxBytes} bytes${options.maxBytesName ? ` (${options.maxBytesName})` : ''}`);
  const declared = Number(header(response.headers, 'content-length'));
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    discard(response.body);
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  const hash = options.sha256 ? createHash('sha256') : undefined;
  let size = 0;
  for await (const chunk of response.body) {
    size += chunk.length;
    if (size > options.maxBytes) {
      discard(response.body);
      throw tooLarge();
    }
    hash?.update(chunk);
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks, size), ...(hash ? { sha256: hash.digest('hex') } : {}) };
}

/** Drops a body we do not want; undici reports the destroy as an error, which nobody must see as uncaught. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Turns whatever undici or the guard threw into a HarvestError whose message a person can act on. */
function describeFetchError(error: unknown, url: URL, options: FetchOptions, deadline: AbortSignal): HarvestError {
  if (error instanceof UnreachableError) return error.at(url);
  if (error instanceof HarvestError) return error;
  const code = (error as { code?: string }).code;
  const where = url.host;
  if (deadline.aborted) return new HarvestError('timeout', `no complete answer from ${url.href} within ${options.timeouts.totalMs} ms`);
  if (options.signal?.aborted) return new HarvestError('aborted', 'the worker stopped before the fetch finished');
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new UnreachableError('timeout', `could not connect to ${where} in time`, url);
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new HarvestError('timeout', `no response from ${url.href} within ${options.timeouts.headersMs} ms`);
    case 'UND_ERR_BODY_TIMEOUT':
      return new HarvestError('timeout', `the body of ${url.href} stalled for more than ${options.timeouts.bodyIdleMs} ms`);
    case 'ECONNREFUSED':
      return new UnreachableError('network', `connection refused by ${where}`, url);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new UnreachableError('network', `no route to ${where}`, url);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UnreachableError('network', `host not found: ${url.hostname}`, url);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new HarvestError('network', `${where} closed the connection before the answer was complete`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HarvestError('network', `fetching ${url.href} failed: ${message}`);
}
