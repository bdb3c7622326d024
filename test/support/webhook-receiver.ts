// A webhook receiver for tests: a real HTTP server on loopback that checks every request with the
// Standard Webhooks reference check (`standardwebhooks`' Webhook.verify), keeps each message by
// its webhook-id, counts duplicates, and answers as the test says (500s, hangs, 410).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedMessage {
  id: string;
  type: string;
  data: Record<string, unknown>;
  /** every delivery of this id, counted (a redelivery is allowed; the test decides how many) */
  times: number;
  /** the path it was sent to: one receiver serves several endpoints (/a, /b, …) */
  path: string;
}

/** What to answer to one request: a status, after a delay (a delay past the sender's timeout is a hang). */
export type Answer = { status: number; delayMs?: number; body?: string };

export interface WebhookReceiver {
  /** the secret every request must be signed with (Standard Webhooks format) */
  secret: string;
  url(path?: string): string;
  /** messages by webhook-id */
  messages: Map<string, ReceivedMessage>;
  /** requests whose signature did not verify: a test expects none */
  badSignatures: string[];
  /** how many requests arrived, including failed and duplicate ones */
  requests: number;
  /** how to answer (default: 200); given the path and how many times this id was received before */
  answer: (path: string, previousTimes: number, type: string) => Answer;
  ofType(type: string, path?: string): ReceivedMessage[];
  duplicates(): number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(secret = `whsec_${randomBytes(32).toString('base64')}`): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const pending = new Set<NodeJS.Timeout>();
  const receiver: WebhookReceiver = {
    secret,
    url: (path = '/') => `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    messages: new Map(),
    badSignatures: [],
    requests: 0,
    answer: () => ({ status: 200 }),
    ofType: (type, path) => [...receiver.messages.values()].filter((m) => m.type === type && (path === undefined || m.path === path)),
    duplicates: () => [...receiver.messages.values()].reduce((sum, m) => sum + m.times - 1, 0),
    async close() {
      for (const timer of pending) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id']);
      let payload: { type: string; data: Record<string, unknown> };
      try {
        payload = verifier.verify(body, request.headers as Record<string, string>) as typeof payload;
      } catch (error) {
        receiver.badSignatures.push(`${id}: ${(error as Error).message}`);
        response.writeHead(400).end('bad signature');
        return;
      }
      const path = request.url ?? '/';
      const previous = receiver.messages.get(id);
      const answer = receiver.answer(path, previous?.times ?? 0, payload.type);
      const reply = () => {
        // only a 2xx counts as received: a 500 or 410 is what the sender must retry or give up on
        if (answer.status >= 200 && answer.status < 300) {
          if (previous) previous.times++;
          else receiver.messages.set(id, { id, type: payload.type, data: payload.data, times: 1, path });
        }
        if (!response.destroyed) response.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? `answer ${answer.status}`);
      };
      if (!answer.delayMs) return reply();
      const timer = setTimeout(() => {
        pending.delete(timer);
        // the sender gave up (timeout): it saw no answer, so this one does not count as received
        if (request.socket.destroyed) return;
        reply();
      }, answer.delayMs);
      pending.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return receiver;
}
