// What every answer to a fuzz request must be: a 2xx, 3xx or 4xx (never a 5xx, never silence),
// and a 4xx carries the standard JSON error shape {"error": {"code", "message", …}}.
import type { FuzzRequest } from './hostile-requests.js';
import type { Outcome } from './http-send.js';

export interface Tally {
  tried: number;
  notSent: number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  noAnswer: number;
}

export const emptyTally = (): Tally => ({ tried: 0, notSent: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, noAnswer: 0 });

export function countOutcome(tally: Tally, outcome: Outcome): void {
  tally.tried++;
  if ('notSent' in outcome) tally.notSent++;
  else if ('noAnswer' in outcome) tally.noAnswer++;
  else tally[`${Math.floor(outcome.answer.status / 100)}xx` as '2xx']++;
}

/** Why the outcome breaks the rules, or null when it keeps them. */
export function violation(request: Pick<FuzzRequest, 'method'> & { headers?: Record<string, string> }, outcome: Outcome): string | null {
  if ('notSent' in outcome) return null;
  if ('noAnswer' in outcome) return `no answer after ${Math.round(outcome.ms)} ms (${outcome.noAnswer})`;
  const { status, body, headers } = outcome.answer;
  if (status >= 500) return `${status}: ${body.toString('utf8', 0, 300)}`;
  if (status < 400 || request.method === 'HEAD') return null;
  const type = String(headers['content-type'] ?? '');
  // A browser (a form post, or a client that does not ask for JSON) may be answered with a page:
  // feedback shows its form again, with the reason, when a form post fails its CSRF check.
  const fromBrowser = /x-www-form-urlencoded/.test(request.headers?.['content-type'] ?? '') || !/application\/json/.test(request.headers?.accept ?? '');
  if (fromBrowser && type.startsWith('text/html')) return null;
  if (!type.includes('application/json')) return `${status} with content-type ${type || 'none'}: ${body.toString('utf8', 0, 200)}`;
  let parsed: any;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return `${status} with a body that is not JSON: ${body.toString('utf8', 0, 200)}`;
  }
  const error = parsed?.error;
  if (!error || typeof error.code !== 'string' || typeof error.message !== 'string') return `${status} without the standard error shape: ${body.toString('utf8', 0, 200)}`;
  return null;
}

/** A short description of a request for failure reports. */
export function describeRequest(request: FuzzRequest): string {
  const body = request.body === undefined ? '' : ` body(${Buffer.byteLength(request.body)} B)=${JSON.stringify(String(request.body).slice(0, 120))}`;
  const headers = Object.keys(request.headers).length ? ` headers=${JSON.stringify(request.headers).slice(0, 160)}` : '';
  return `[${request.category}] ${request.method} ${request.url.slice(0, 160)}${headers}${body}`;
}
