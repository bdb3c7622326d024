// Which kind of client a request comes from, decided here once for every route: a browser, which
// is answered with HTML pages (errors included), or an API client, which gets JSON. Also the body
// types: which media types are JSON, which are a browser form.
import type { FastifyRequest, RouteOptions } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route serves an HTML page (to a client that does not ask for JSON): its errors are pages too */
    htmlPage?: boolean;
  }
}

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';
const MULTIPART_FORM_TYPE = 'multipart/form-data';

/** application/json and the structured-syntax +json types (application/problem+json, application/vnd.x+json). */
export const JSON_SUFFIX_TYPE = /^application\/[\w.!#$&^-]+\+json(?:\s*;|$)/i;

/** The media type of the body, without parameters, lower case ('' when there is none). */
export function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
}

export function isJsonMediaType(type: string): boolean {
  return type === JSON_TYPE || JSON_SUFFIX_TYPE.test(type);
}

/** The body types only a browser's <form> sends to Workyard. */
export function isFormMediaType(type: string): boolean {
  return type === FORM_TYPE || type === MULTIPART_FORM_TYPE;
}

/** The q-values Accept gives JSON and HTML (0 when not named; wildcards name neither). */
function acceptRanks(accept: string | undefined): { json: number; html: number } {
  let json = 0;
  let html = 0;
  for (const part of (accept ?? '').split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    const name = type.trim();
    if (name === JSON_TYPE) json = Math.max(json, q);
    else if (name === 'text/html') html = Math.max(html, q);
  }
  return { json, html };
}

/** True when the Accept header ranks JSON above HTML (q-values honoured; absent or equal → false). */
export function prefersJson(accept: string | undefined): boolean {
  const { json, html } = acceptRanks(accept);
  return json > html;
}

/** True when the Accept header ranks HTML above JSON, as every browser's navigation and form post does. */
export function prefersHtml(accept: string | undefined): boolean {
  const { json, html } = acceptRanks(accept);
  return html > json;
}

/** The media types a route's schema declares for its body (a plain schema: JSON); undefined when it declares no body. */
export function declaredBodyTypes(schema: RouteOptions['schema']): string[] | undefined {
  const body = schema?.body as { content?: Record<string, unknown> } | undefined;
  if (!body) return undefined;
  return body.content ? Object.keys(body.content).map((type) => type.toLowerCase()) : [JSON_TYPE];
}

/**
 * Whether the answer (an error included) is an HTML page rather than JSON. A client that says
 * which it wants gets it: browsers rank text/html first, API clients and Swagger UI name JSON.
 * One that says neither (curl and fetch send a wildcard, or no Accept at all) gets what the route
 * serves: a page route its page, a post to a form's route (the feedback form) that form's page,
 * every other route JSON.
 */
export function wantsHtmlPage(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (prefersJson(accept)) return false;
  if (prefersHtml(accept)) return true;
  if (request.routeOptions.config?.htmlPage === true) return true;
  const type = mediaTypeOf(request);
  return isFormMediaType(type) && (declaredBodyTypes(request.routeOptions.schema)?.includes(type) ?? false);
}
