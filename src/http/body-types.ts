// One rule for the type of a request body, on every route that declares a body in its schema
// (the ones /openapi.json lists with a requestBody): the body must be of a declared type, else 415
// naming the type that came, before a byte of it is read. A plain body schema declares JSON
// (application/json and the +json types); only the feedback form declares a form type too.
// Routes that take raw bytes of any type (PUT /blobs/{key}) declare no body schema and are left alone.
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { App } from '../app-context.js';
import { AppError } from '../errors.js';
import { JSON_SUFFIX_TYPE, JSON_TYPE, declaredBodyTypes, isJsonMediaType, mediaTypeOf } from './client-kind.js';

function accepts(declared: string[], type: string): boolean {
  return declared.some((allowed) => (allowed === JSON_TYPE ? isJsonMediaType(type) : allowed === type));
}

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0');

export function refuseUndeclaredBodyTypes(app: App): void {
  app.addHook('onRoute', (route) => {
    const declared = declaredBodyTypes(route.schema);
    if (!declared) return;
    const names = declared.map((type) => (type === JSON_TYPE ? `${JSON_TYPE} (or a +json type)` : type)).join(' or ');
    const requireDeclaredType = async (request: FastifyRequest, _reply: FastifyReply, payload: unknown) => {
      const type = mediaTypeOf(request);
      // No body at all is left to the schema, which names what is missing.
      if (type === '' && !hasBody(request)) return payload;
      if (accepts(declared, type)) return payload;
      throw new AppError('unsupported_media_type', `${route.method} ${route.url} takes ${names}, not ${type || 'a body without a Content-Type'}`, { field: 'content-type' });
    };
    route.preParsing = [requireDeclaredType, ...[route.preParsing ?? []].flat()] as RouteOptions['preParsing'];
  });
}

/** Fastify parses application/json only: the +json types are JSON too, parsed the same way. */
export function parseJsonSuffixTypes(app: App): void {
  app.addContentTypeParser(JSON_SUFFIX_TYPE, { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
}
