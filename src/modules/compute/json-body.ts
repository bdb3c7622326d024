// The body parser of compute's routes: JSON and nothing else. Fastify would also parse plain text
// and (through formbody) forms, which here must be a 415; and a list with NaN or Infinity (what
// Python's json.dumps writes for them) deserves an answer naming the field, not "invalid JSON".
import type { FastifyRequest } from 'fastify';
import type { App } from '../../app-context.js';
import { validationError } from '../../errors.js';
import { JSON_SUFFIX_TYPE, JSON_TYPE } from '../../http/client-kind.js';

export function acceptJsonBodiesOnly(app: App): void {
  app.removeAllContentTypeParsers();
  // application/json and the +json types (http/body-types.ts refuses every other type with 415)
  for (const type of [JSON_TYPE, JSON_SUFFIX_TYPE]) app.addContentTypeParser(type, { parseAs: 'string' }, parseSumJson);
}

async function parseSumJson(_request: FastifyRequest, body: string | Buffer) {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw validationError('body', 'the body is empty: send a JSON object');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw nonFiniteNumberErrorOrNull(text) ?? validationError('body', `the body is not valid JSON: ${(error as Error).message}`);
  }
}

const NON_FINITE_TOKEN = /-?Infinity|NaN/y;
const MARKER = '\u0000non-finite:';

function nonFiniteNumberErrorOrNull(text: string) {
  try {
    return nonFiniteNumberError(text);
  } catch {
    return null; // e.g. nesting too deep to walk: the generic message will do
  }
}

/** Finds a NaN or ±Infinity token outside strings and names where it stands, e.g. numbers[2]. */
function nonFiniteNumberError(text: string) {
  let marked = '';
  let from = 0;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      // skip the string, escapes included
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    NON_FINITE_TOKEN.lastIndex = i;
    const match = NON_FINITE_TOKEN.exec(text);
    if (!match) continue;
    marked += text.slice(from, i) + JSON.stringify(MARKER + match[0]);
    i += match[0].length - 1;
    from = i + 1;
    found = true;
  }
  if (!found) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(marked + text.slice(from));
  } catch {
    return null; // invalid for other reasons too: the generic message fits better
  }
  const where = pathOfMarker(parsed, []);
  if (!where) return null;
  const field = where.path.filter((part) => typeof part === 'string').join('.') || 'body';
  const position = where.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('').replace(/^\./, '');
  return validationError(field, `${position}: ${where.token} is not a finite number; only finite numbers are accepted`);
}

function pathOfMarker(value: unknown, path: (string | number)[]): { path: (string | number)[]; token: string } | null {
  if (typeof value === 'string') return value.startsWith(MARKER) ? { path, token: value.slice(MARKER.length) } : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, child] of Object.entries(value)) {
    const found = pathOfMarker(child, [...path, Array.isArray(value) ? Number(key) : key]);
    if (found) return found;
  }
  return null;
}
