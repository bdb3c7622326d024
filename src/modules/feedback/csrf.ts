// CSRF protection for the HTML form posts only.
//
// Which requests need the token: a forged cross-site request can only be one a browser sends
// without asking the server first, and a plain <form> can send only urlencoded, multipart or
// text/plain bodies. A body typed application/json cannot be sent cross-site without a CORS
// preflight, which Workyard never grants, so JSON clients (curl, services, the benchmark) need no
// token. Every other body type needs one: the form type is checked, and any other type is refused
// with 415 before a handler runs, so no body type a browser can forge reaches a handler unchecked.
//
// The secret lives in a cookie (SameSite=Strict, HttpOnly, scoped to /feedback) and the token is
// derived from it, so any process of a scaled deployment can check it without shared state.
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { App } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { FORM_TYPE, JSON_TYPE, isJsonMediaType, mediaTypeOf } from '../../http/client-kind.js';

export const CSRF_COOKIE = 'wy_feedback_csrf';

export async function registerFormCsrf(app: App): Promise<void> {
  // Cookies are read only where a form needs them (hook: false), so JSON posts, the hot path, do
  // not pay for parsing a Cookie header they do not use.
  await app.register(fastifyCookie, { hook: false });
  await app.register(fastifyCsrfProtection, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: { path: '/feedback', sameSite: 'strict', httpOnly: true },
  });
}

/** preHandler of the post routes: JSON passes, a form needs a valid token, anything else is 415. */
export function formPostGuard(app: App) {
  return function requireCsrfTokenOnForms(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const type = mediaTypeOf(request);
    if (isJsonMediaType(type)) return done();
    if (type !== FORM_TYPE) {
      return done(new AppError('unsupported_media_type', `send ${JSON_TYPE} or ${FORM_TYPE}, not ${type || 'no body type'}`, { field: 'content-type' }));
    }
    readCookies(app, request);
    app.csrfProtection(request, reply, done);
  };
}

/** Parses the Cookie header once, for the CSRF check or for a page that hands out a token. */
export function readCookies(app: App, request: FastifyRequest): void {
  request.cookies ??= app.parseCookie(request.headers.cookie ?? '');
}

export function isCsrfError(error: FastifyError): boolean {
  return error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET';
}
