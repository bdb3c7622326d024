// One attempt at one delivery: the body signed per Standard Webhooks (the maintained
// `standardwebhooks` package), POSTed through the connect-time SSRF guard, redirects not
// followed (a 3xx is a failed attempt), the whole exchange bounded.
import { Webhook } from 'standardwebhooks';
import type { Agent } from 'undici';
import { createGuardedAgent } from '../../infra/net/guarded-agent.js';
import { loadUndici } from '../../infra/net/undici.js';
import { errorMessage } from '../../infra/queue/contract.js';

/** What the attempts table keeps of an answer. */
export const RESPONSE_KEEP_BYTES = 1024;

export interface SendResult {
  startedAt: number;
  durationMs: number;
  /** null: no HTTP answer */
  statusCode: number | null;
  /** the first RESPONSE_KEEP_BYTES of the answer's body */
  response: string | null;
  error: string | null;
}

export interface Message {
  /** webhook-id: the event's id, the same on every attempt */
  id: string;
  body: string;
}

export class WebhookSender {
  private agent: Promise<Agent> | null = null;

  constructor(private readonly options: { allowPrivate: boolean; timeoutMs: number }) {}

  async send(url: string, secret: string, message: Message, signal: AbortSignal): Promise<SendResult> {
    const startedAt = Date.now();
    // the signature's timestamp is the attempt's: receivers refuse ones older than 5 minutes
    const timestamp = new Date(startedAt);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Workyard-Webhooks',
      'webhook-id': message.id,
      'webhook-timestamp': String(Math.floor(startedAt / 1000)),
      'webhook-signature': new Webhook(secret).sign(message.id, timestamp, message.body),
    };
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const { request } = await loadUndici();
      const answer = await request(url, { method: 'POST', headers, body: message.body, dispatcher: await this.dispatcher(), signal: AbortSignal.any([deadline, signal]) });
      const response = await firstBytes(answer.body, RESPONSE_KEEP_BYTES);
      return { startedAt, durationMs: Date.now() - startedAt, statusCode: answer.statusCode, response, error: null };
    } catch (error) {
      const why = deadline.aborted ? `no complete answer within ${this.options.timeoutMs} ms` : describe(error);
      return { startedAt, durationMs: Date.now() - startedAt, statusCode: null, response: null, error: why };
    }
  }

  async close(): Promise<void> {
    const agent = this.agent;
    this.agent = null;
    await (await agent)?.close();
  }

  /** Created on first use and again after close(), as harvest's: a job in its grace period still sends. */
  private dispatcher(): Promise<Agent> {
    this.agent ??= createGuardedAgent({ policy: { allowPrivate: this.options.allowPrivate }, connectTimeoutMs: Math.min(this.options.timeoutMs, 5_000) });
    return this.agent;
  }
}

/** Reads at most `limit` bytes of a body, then drops the rest (a receiver may answer with megabytes). */
async function firstBytes(body: AsyncIterable<Buffer> & { destroy(): unknown }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= limit) break;
  }
  body.destroy();
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function describe(error: unknown): string {
  const refused = (error as { code?: string }).code === 'WORKYARD_REFUSED_ADDRESS';
  return refused ? `${errorMessage(error)} (set WORKYARD_WEBHOOKS_ALLOW_PRIVATE=true to allow it)` : errorMessage(error);
}
