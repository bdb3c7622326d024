import { createHash } from 'node:crypto';
import { KEY_PREFIX_LENGTH, MAX_KEY_LENGTH } from './contract.js';

/** The key as stored: itself when short enough, else its prefix, "…" and a digest of the whole key. */
export function boundedKey(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) return key;
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${key.slice(0, KEY_PREFIX_LENGTH)}…${digest}`;
}
