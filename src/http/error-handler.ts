// Turns every error into the one JSON shape of errors.ts, or for a browser into a page saying the
// same (client-kind.ts decides which). Nothing a client sends may produce a 500: validation,
// parsing and size errors map to 4xx with the field they are about.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode, ErrorCodes } from '../errors.js';
import { wantsHtmlPage } from './client-kind.js';
import { sendErrorPage } from './error-page.js';
import { fieldOfValidationError } from './validation.js';

const codeByStatus: Record<number, ErrorCode> = Object.fromEntries(
  Object.entries(ErrorCodes).map(([code, status]) => [status, code as ErrorCode]),
);

export function toAppError(error: FastifyError & { validation?: any[]; validationContext?: string }): AppError {
  if (error instanceof AppError) return error;
  if (error.validation?.length) {
    const first = error.validation[0];
    const field = fieldOfValidationError(first, error.validationContext);
    const where = error.validationContext && error.validationContext !== 'body' ? ` (${error.validationContext})` : '';
    return new AppError('validation_failed', `${field}${where}: ${first.message ?? 'is invalid'}`, { field });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('validation_failed', `body: ${error.message}`, { field: 'body' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      if (error.statusCode === 415) return new AppError('unsupported_media_type', error.message, { field: 'content-type' });
      break;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'request body is too large', { field: 'body' });
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return new AppError(codeByStatus[status] ?? 'validation_failed', error.message);
  }
  if (status === 503) return new AppError('dependency_unavailable', error.message);
  return new AppError('internal_error', 'internal error');
}

export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(error);
  // A 504 (a sync wait that ran out; the task goes on) and a 503 are expected answers, not bugs.
  if (appError.code === 'dependency_unavailable') request.log.warn({ err: error }, 'dependency unavailable');
  else if (appError.code === 'timeout') request.log.info({ taskId: appError.details.task_id }, 'sync wait timed out');
  else if (appError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
  return sendAppError(request, reply, appError);
}

/** The one way an error is answered: JSON for API clients, a page for browsers. */
export function sendAppError(request: FastifyRequest, reply: FastifyReply, appError: AppError) {
  if (appError.code === 'dependency_unavailable') reply.header('retry-after', '1');
  if (wantsHtmlPage(request)) return sendErrorPage(reply, appError);
  return reply.status(appError.statusCode).type('application/json; charset=utf-8').send(appError.toJSON());
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return sendAppError(request, reply, new AppError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`));
}
