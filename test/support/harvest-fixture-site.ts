// A web site the harvest tests and benchmark serve themselves, on loopback only. It counts TCP
// connections (so a test can prove the SSRF guard refused before connecting) and requests per
// path, and remembers the User-Agent it was sent.
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FixtureHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface FixtureSite {
  /** http://<host>:<port> */
  url: string;
  port: number;
  /** TCP connections accepted, on every address the site listens on */
  readonly connections: number;
  /** requests by path (with query) */
  readonly requests: Map<string, number>;
  readonly userAgents: Set<string>;
  route(path: string, handler: FixtureHandler): void;
  hits(path: string): number;
  close(): Promise<void>;
}

export interface FixtureSiteOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** also listen on [::1] with the same port, when it can be had */
  ipv6?: boolean;
}

export async function startFixtureSite(routes: Record<string, FixtureHandler> = {}, options: FixtureSiteOptions = {}): Promise<FixtureSite> {
  const handlers = new Map(Object.entries(routes));
  const requests = new Map<string, number>();
  const userAgents = new Set<string>();
  let connections = 0;
  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const path = request.url ?? '/';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    userAgents.add(String(request.headers['user-agent']));
    const handler = handlers.get(path) ?? handlers.get(path.split('?')[0]);
    if (handler) return handler(request, response);
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  };
  const servers: http.Server[] = [];
  const listen = (host: string, port: number) =>
    new Promise<http.Server>((resolve, reject) => {
      const server = http.createServer(listener);
      // Long enough for undici to reuse connections (it drops those whose hinted timeout is near); close() ends them anyway.
      server.keepAliveTimeout = 30_000;
      server.on('connection', () => connections++);
      server.once('error', reject);
      server.listen(port, host, () => resolve(server));
    });
  const host = options.host ?? '127.0.0.1';
  const first = await listen(host, 0);
  servers.push(first);
  const port = (first.address() as AddressInfo).port;
  if (options.ipv6) servers.push(await listen('::1', port));
  return {
    url: `http://${host}:${port}`,
    port,
    get connections() {
      return connections;
    },
    requests,
    userAgents,
    route: (path, handler) => void handlers.set(path, handler),
    hits: (path) => requests.get(path) ?? 0,
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

export const html = (body: string, contentType = 'text/html; charset=utf-8'): FixtureHandler => (_request, response) =>
  void response.writeHead(200, { 'content-type': contentType }).end(body);

export const bytes = (body: Buffer, contentType?: string): FixtureHandler => (_request, response) =>
  void response.writeHead(200, { ...(contentType ? { 'content-type': contentType } : {}), 'content-length': body.length }).end(body);

export const redirect = (location: string, status = 302): FixtureHandler => (_request, response) =>
  void response.writeHead(status, { location }).end();

export const status = (code: number): FixtureHandler => (_request, response) => void response.writeHead(code, { 'content-type': 'text/plain' }).end(`status ${code}`);

/** Answers after `ms` (the test's timeout is shorter); the timer is dropped if the client leaves. */
export const slow = (ms: number, then: FixtureHandler): FixtureHandler => (request, response) => {
  const timer = setTimeout(() => then(request, response), ms);
  response.on('close', () => clearTimeout(timer));
};

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Bytes that sniff as PNG, distinct per seed, of exactly `size` bytes. */
export function fakePng(seed: string, size = 256): Buffer {
  const out = Buffer.alloc(Math.max(size, PNG_SIGNATURE.length + 32));
  PNG_SIGNATURE.copy(out, 0);
  let block = createHash('sha256').update(seed).digest();
  for (let offset = PNG_SIGNATURE.length; offset < out.length; offset += block.length) {
    block.copy(out, offset);
    block = createHash('sha256').update(block).digest();
  }
  return out.subarray(0, Math.max(size, PNG_SIGNATURE.length + 32));
}
