// Server-sent events, the one way a route streams: the head, the events, a comment line now and
// then so that proxies do not close a quiet stream, and the end. A stream is a hijacked response
// Fastify no longer tracks, so each one ends when its client goes away or the app closes (else
// app.close() would wait on it for ever).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app-context.js';

export interface EventStream {
  /** Writes one event (its data as JSON); nothing once the stream has ended. */
  send(event: string, data: unknown): void;
  /** Ends the stream; whatever ends it first, onEnd runs once. */
  end(): void;
}

export interface EventStreamOptions {
  /** how often the keep-alive comment goes out (default 15 s) */
  heartbeatMs?: number;
  /** how long the browser waits before reconnecting, sent first */
  retryMs?: number;
  /** runs once when the stream ends: by end(), by the client going away, or by the app closing */
  onEnd?: () => void;
}

export type EventStreams = ReturnType<typeof eventStreams>;

/** Once per app, where the routes are registered: the open streams end when the app closes. */
export function eventStreams(app: App) {
  const open = new Set<EventStream>();
  app.addHook('preClose', async () => {
    for (const stream of [...open]) stream.end();
  });
  return {
    /** Answers the request with a stream; null for HEAD, which gets the head only. */
    open(request: FastifyRequest, reply: FastifyReply, options: EventStreamOptions = {}): EventStream | null {
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      // Node drops the body of a HEAD, so the head would never be flushed: end at once.
      if (request.method === 'HEAD') {
        raw.end();
        return null;
      }
      if (options.retryMs) raw.write(`retry: ${options.retryMs}\n\n`);
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), options.heartbeatMs ?? 15_000);
      let ended = false;
      const stream: EventStream = {
        send: (event, data) => void (ended || raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)),
        end: () => {
          if (ended) return;
          ended = true;
          clearInterval(heartbeat);
          open.delete(stream);
          options.onEnd?.();
          raw.end();
        },
      };
      open.add(stream);
      request.raw.on('close', stream.end);
      return stream;
    },
  };
}
