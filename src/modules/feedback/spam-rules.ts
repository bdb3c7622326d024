// The feedback forms' spam rules. Two signs of a bot, neither visible to a person:
//  - the honeypot: a field people never see nor reach (off-screen, aria-hidden, out of the tab
//    order), which bots that fill every input fill;
//  - the fill time: each page carries a signed token of when it was made; a form posted under
//    WORKYARD_FORM_MIN_FILL_MS (2 s) after that — faster than anyone types — or with a token older
//    than a day (a page harvested once and replayed), a missing or a forged one, is suspect.
// A suspect post is answered exactly like a real one (a bot learns nothing to adapt to) and saved
// with spam: 1, so nothing is lost if a rule misfires: the admin sees it (GET /feedback.json?spam=true).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The honeypot's name: a field a form-filling bot expects and fills. */
export const HONEYPOT_FIELD = 'website';
/** The fill-time token's field. */
export const FILL_TOKEN_FIELD = '_started';

export interface SpamRules {
  secret: string;
  minFillMs: number;
  maxAgeMs: number;
}

/** Why a post is suspect, for the log; null when it looks like a person's. */
export type SpamReason = 'honeypot' | 'no-fill-token' | 'bad-fill-token' | 'too-fast' | 'too-old' | null;

/** A secret for a deployment that did not configure one (kept in the database by the store). */
export function newFormSecret(): string {
  return randomBytes(32).toString('base64url');
}

function signature(secret: string, issuedAt: string): Buffer {
  return createHmac('sha256', secret).update(`feedback-form:${issuedAt}`).digest();
}

/** The token a page's forms carry: when the page was made, and its signature. */
export function fillToken(secret: string, now = Date.now()): string {
  const issuedAt = String(now);
  return `${issuedAt}.${signature(secret, issuedAt).toString('base64url')}`;
}

export function spamReason(fields: Record<string, unknown>, rules: SpamRules, now = Date.now()): SpamReason {
  const honeypot = fields[HONEYPOT_FIELD];
  if (honeypot !== undefined && honeypot !== '') return 'honeypot';
  const token = fields[FILL_TOKEN_FIELD];
  if (typeof token !== 'string' || token === '') return 'no-fill-token';
  const match = /^(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return 'bad-fill-token';
  const given = Buffer.from(match[2], 'base64url');
  const expected = signature(rules.secret, match[1]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'bad-fill-token';
  const age = now - Number(match[1]);
  if (age < rules.minFillMs) return 'too-fast';
  if (age > rules.maxAgeMs) return 'too-old';
  return null;
}
