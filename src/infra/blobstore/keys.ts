// The rules every blob key obeys, checked by the HTTP routes (a 400 naming `key`) and again by the
// stores themselves, so that no caller can hand a driver a key that escapes it or that S3 would
// refuse. The disk driver never uses a key as a path anyway (see disk-layout.ts); these rules keep
// keys portable between the stores.
import { validationError } from '../../errors.js';

export const MAX_KEY_BYTES = 1024;

// C0 controls, DEL and the C1 controls: invisible, and refused or mangled by filesystems, logs and HTTP headers.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// With the u flag a proper surrogate pair is one code point, so this matches lone surrogates only:
// text that has no UTF-8 encoding.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why the key is refused, or null when it is a valid key. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return 'must not be empty';
  if (LONE_SURROGATE.test(key)) return 'must be valid UTF-8 (it contains a lone surrogate)';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes of UTF-8 (it has ${bytes})`;
  if (CONTROL.test(key)) return 'must not contain control characters';
  for (const segment of key.split('/')) {
    if (segment === '') return 'must not have an empty segment (leading, trailing or doubled "/")';
    if (segment === '.' || segment === '..') return 'must not have a "." or ".." segment';
  }
  return null;
}

/** Throws the standard 400 naming `key` when the key breaks a rule. */
export function assertValidKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw validationError('key', `key ${problem}`);
}

/** A listing prefix may be empty or end with "/", but must otherwise be text a key could start with. */
export function assertValidPrefix(prefix: string, field = 'prefix'): void {
  if (LONE_SURROGATE.test(prefix)) throw validationError(field, `${field} must be valid UTF-8`);
  if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES) throw validationError(field, `${field} must be at most ${MAX_KEY_BYTES} bytes`);
  if (CONTROL.test(prefix)) throw validationError(field, `${field} must not contain control characters`);
}
