// Which kind of client a request comes from: a JSON API client or a browser posting an HTML form.
// The answer decides the response format and whether a CSRF token is needed (see csrf.ts).
import type { FastifyRequest } from 'fastify';

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The media type of the body, without parameters, lower case ('' when there is none). */
export function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
}

/** True when the Accept header ranks JSON above HTML (q-values honoured; absent or equal → HTML). */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  let json = 0;
  let htmlQ = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    const name = type.trim();
    if (name === JSON_TYPE) json = Math.max(json, q);
    else if (name === 'text/html') htmlQ = Math.max(htmlQ, q);
  }
  return json > htmlQ;
}
