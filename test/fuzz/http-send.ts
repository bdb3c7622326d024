// Sends fuzz requests as raw HTTP/1.1 over TCP, one connection each, and reads one answer. No
// HTTP client library is in the way: they refuse odd paths and headers (which is what we want to
// send), and undici 7's pool was seen spinning the event loop after a few refused requests.
import net from 'node:net';
import type { FuzzRequest } from './hostile-requests.js';

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  ms: number;
}

export type Outcome = { answer: Answer } | { notSent: string } | { noAnswer: string; ms: number };

/** The bytes of an HTTP/1.1 request; the connection closes after the answer. */
export function encodeRequest(request: FuzzRequest, host: string): Buffer {
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body);
  const headers: [string, string][] = [['host', host], ...Object.entries(request.headers), ['connection', 'close']];
  if (body) headers.push(['content-length', String(body.length)]);
  const head = `${request.method} ${request.url} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), body ?? Buffer.alloc(0)]);
}

export function httpSender(port: number, timeoutMs: number) {
  return {
    send: (request: FuzzRequest): Promise<Outcome> => sendRaw(port, encodeRequest(request, `127.0.0.1:${port}`), timeoutMs),
  };
}

interface Head {
  status: number;
  headers: Record<string, string>;
  bodyStart: number;
}

function parseHead(raw: Buffer): Head | null {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = raw.toString('latin1', 0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!status) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(status[1]), headers, bodyStart: end + 4 };
}

/** Writes bytes on a fresh connection and reads one answer (to its length, its last chunk, or the close). */
export function sendRaw(port: number, bytes: Buffer | string, timeoutMs: number): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks);
      const ms = performance.now() - started;
      const head = parseHead(raw);
      if (!head) return resolve({ noAnswer: raw.length ? `unparsable: ${raw.toString('latin1', 0, 80)}` : why, ms });
      let body: Buffer = raw.subarray(head.bodyStart);
      if (/chunked/i.test(head.headers['transfer-encoding'] ?? '')) body = dechunk(body).body;
      resolve({ answer: { status: head.status, headers: head.headers, body, ms } });
    };
    const timer = setTimeout(() => finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const raw = Buffer.concat(chunks);
      const head = parseHead(raw);
      if (!head) return;
      // An event stream never ends by itself: its head is the answer.
      if ((head.headers['content-type'] ?? '').startsWith('text/event-stream')) return finish('');
      const length = head.headers['content-length'];
      if (length !== undefined && raw.length >= head.bodyStart + Number(length)) return finish('');
      if (/chunked/i.test(head.headers['transfer-encoding'] ?? '') && dechunk(raw.subarray(head.bodyStart)).complete) finish('');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(`connection error ${error.code ?? error.message}`));
    socket.on('close', () => finish('connection closed without an answer'));
    socket.on('connect', () => socket.write(bytes));
  });
}

function dechunk(body: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset < body.length) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) break;
    const size = parseInt(body.toString('latin1', offset, lineEnd), 16);
    if (Number.isNaN(size)) break;
    if (size === 0) return { body: Buffer.concat(parts), complete: true };
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return { body: Buffer.concat(parts), complete: false };
}
