// The seeds' clients call /stats/, /test/10/, /put/ and /api/… with a trailing slash, and the
// Flask services they were written for redirect the other form (/stats) with 308. Workyard does
// the same, for every route and method: a path that matches no route, but would with its trailing
// slash added or removed, is answered 308 to that form, query string kept. 308 (not 301) keeps the
// method and the body, so a POST /put is posted again to /put/. A redirect rather than serving both
// (Fastify's ignoreTrailingSlash): one URL per resource for caches and stats, and ignoreTrailingSlash
// would also strip the slash inside wildcard routes (/api/a/ would count as /api/a).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app-context.js';

/** The other form of the path, when that one is a route; undefined otherwise. */
export function otherSlashForm(app: App, method: string, path: string): string | undefined {
  // '/' has no other form; '//host' would be a redirect to another site.
  if (path === '/' || path.startsWith('//')) return undefined;
  const other = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
  if (other === '' || other.startsWith('//')) return undefined;
  return app.findRoute({ method: method as 'GET', url: other }) ? other : undefined;
}

/**
 * A path that ends with a slash can match a route with an empty named parameter (/images_tasks/
 * is /images_tasks/:id with id ""), which no route accepts: that is the other form too. An empty
 * wildcard is left to its route (/api/ is a path of its own; /blobs/ is the empty key, a 400).
 */
function matchedOnlyByAnEmptyParameter(request: FastifyRequest, path: string): boolean {
  if (!path.endsWith('/')) return false;
  const params = request.params;
  return params !== null && typeof params === 'object' && Object.entries(params).some(([name, value]) => name !== '*' && value === '');
}

export function redirectOtherSlashForm(app: App): void {
  // onRequest: before the body is read or any other hook runs on a request that matched nothing.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const queryAt = request.url.indexOf('?');
    const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
    if (!request.is404 && !matchedOnlyByAnEmptyParameter(request, path)) return;
    const target = otherSlashForm(app, request.method, path);
    if (target === undefined) return;
    return reply.redirect(target + (queryAt === -1 ? '' : request.url.slice(queryAt)), 308);
  });
}
