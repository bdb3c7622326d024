// The Idempotency-Key request header on the feedback posts (draft-ietf-httpapi-idempotency-key-header):
// a client that did not get an answer (a 503, a connection lost) posts again with the same key and
// gets the first answer again instead of a second row or a second job.
//
// What is recorded per key: which request it came with (a fingerprint of the route and the
// normalised submission, so JSON and form posts of the same feedback match) and the answer it got.
// A key is one client's choice, so a key seen with another submission is refused (422), never
// answered with someone else's answer.
import { createHash } from 'node:crypto';
import { AppError, validationError } from '../../errors.js';
import type { EnqueueOptions } from '../../infra/queue/contract.js';
import type { FeedbackInput } from './validation.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
export const MAX_KEY_LENGTH = 255;

/** The answer a keyed post got, replayed as it was: JSON (status and body) or a form's redirect. */
export type RecordedAnswer =
  | { status: number; body: Record<string, unknown>; location?: string }
  | { status: 303; location: string };

/** A key as stored: `answer` is null while the first request is still being processed (async posts only). */
export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  /** the feedback row's id (sync) or the save job's id (async), fixed when the key is first seen */
  resourceId: string;
  answer: RecordedAnswer | null;
  /** epoch ms: when the key was first seen (the retention counts from here) */
  createdAt: number;
  /** epoch ms: when a request last took the key up to process it */
  claimedAt: number;
}

/**
 * The key of a request, or undefined when it has none. The draft writes the key as a Structured
 * Field string (`"abc"`); a bare value is accepted too, as most clients send one. Either way it must
 * be 1 to 255 printable ASCII characters, else 400 naming the header.
 */
export function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers[IDEMPOTENCY_HEADER];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw invalidKey('send one Idempotency-Key header, not several');
  const key = unquoteStructuredString(raw);
  if (key.length < 1 || key.length > MAX_KEY_LENGTH || !/^[\x20-\x7e]+$/.test(key)) {
    throw invalidKey(`Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters`);
  }
  return key;
}

function unquoteStructuredString(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  let key = '';
  // inside an sf-string only \" and \\ are escapes, and a bare quote cannot appear
  for (let i = 1; i < value.length - 1; i++) {
    let char = value[i];
    if (char === '\\') {
      char = value[++i];
      if (i >= value.length - 1 || (char !== '"' && char !== '\\')) throw invalidKey('Idempotency-Key is not a valid quoted string');
    } else if (char === '"') {
      throw invalidKey('Idempotency-Key is not a valid quoted string');
    }
    key += char;
  }
  return key;
}

const invalidKey = (message: string) => validationError(IDEMPOTENCY_HEADER, message);

/**
 * Route and submission, hashed: a retry matches whatever body type or field order it was sent with.
 * The task options (when, priority, key) are part of the submission; without any, the hash is the
 * one keys recorded before they existed were given.
 */
export function fingerprintOf(route: string, input: FeedbackInput, options: EnqueueOptions = {}): string {
  const fields = [input.name, input.email, input.message, input.rating ?? null];
  const optionEntries = Object.entries(options).sort(([a], [b]) => a.localeCompare(b));
  const submission = JSON.stringify(optionEntries.length ? [...fields, optionEntries] : fields);
  return `${route} sha256:${createHash('sha256').update(submission).digest('hex')}`;
}

export const keyReused = () =>
  new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different submission; use a new key for new feedback', { field: IDEMPOTENCY_HEADER });

/** 409: the route sets `Retry-After: 1` on it. */
export class KeyInProgressError extends AppError {
  constructor() {
    super('conflict', 'a request with this Idempotency-Key is still being processed; retry shortly', { field: IDEMPOTENCY_HEADER });
  }
}

/** What an earlier record of the key means for this request: its answer again, or an error. */
export function answerFromRecord(record: IdempotencyRecord, fingerprint: string): RecordedAnswer {
  if (record.fingerprint !== fingerprint) throw keyReused();
  if (!record.answer) throw new KeyInProgressError();
  return record.answer;
}
