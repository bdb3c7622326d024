// CSRF protection for the dashboard's actions (retry, cancel, pause). The page is behind the
// operator key, which a browser sends by itself as a cookie; so a button's post must also carry a
// token that only the page could have read. The page holds the token in a <meta> tag and its
// script sends it as the X-CSRF-Token header. The secret is in a cookie (SameSite=Strict,
// HttpOnly, scoped to /dashboard) and the token is derived from it: any process of a scaled
// deployment can check it without shared state.
import fastifyCookie from '@fastify/cookie';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyError, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { App } from '../../app-context.js';
import { AppError } from '../../errors.js';
import { errorHandler } from '../../http/error-handler.js';

export const DASHBOARD_CSRF_COOKIE = 'wy_dashboard_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export async function registerDashboardCsrf(app: App): Promise<void> {
  // Cookies are parsed only where the token is made or checked (hook: false), not for the live
  // stream and the assets.
  await app.register(fastifyCookie, { hook: false });
  await app.register(fastifyCsrfProtection, {
    cookieKey: DASHBOARD_CSRF_COOKIE,
    cookieOpts: { path: '/dashboard', sameSite: 'strict', httpOnly: true },
    getToken: (request) => request.headers[CSRF_HEADER] as string | undefined,
  });
  // The plugin answers a bad token with its own error; this one says what to do about it.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const csrf = error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET';
    const answer = csrf ? new AppError('forbidden', `the CSRF token is missing or wrong (send the ${CSRF_HEADER} header of the dashboard page): reload the page`, { field: CSRF_HEADER }) : error;
    return errorHandler(answer as FastifyError, request, reply);
  });
}

function readCookies(app: App, request: FastifyRequest): void {
  request.cookies ??= app.parseCookie(request.headers.cookie ?? '');
}

/** A token for the page: derived from the secret in the visitor's cookie (a new secret, and cookie, when there is none). */
export function csrfTokenFor(app: App, reply: FastifyReply): string {
  readCookies(app, reply.request);
  return reply.generateCsrf();
}

/** preHandler of the action routes: 403 unless the token matches the cookie's secret. */
export function requireCsrfToken(app: App) {
  return function checkCsrfToken(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    readCookies(app, request);
    app.csrfProtection(request, reply, done);
  };
}
