// Errors found before a request reaches a route: HTTP the parser refuses (bad request line,
// forbidden bytes, oversized head, conflicting lengths) and URLs the router refuses (broken
// percent-encoding, an over-long path parameter). Fastify answers those in a shape of its own;
// these answer them in Workyard's one error shape, like every other 4xx.
import { type IncomingMessage, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { errorHandler } from './error-handler.js';

function parserError(error: NodeJS.ErrnoException): AppError {
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AppError('request_timeout', 'the request did not arrive in time');
  if (error.code === 'HPE_HEADER_OVERFLOW') return new AppError('headers_too_large', 'the request line and headers are too large', { field: 'headers' });
  return new AppError('validation_failed', `malformed HTTP request${error.code ? ` (${error.code})` : ''}`, { field: 'request' });
}

/** Node's 'clientError': nothing of the request is usable, so the answer is written on the socket and it is closed. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError = parserError(error);
  const body = JSON.stringify(appError.toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${appError.statusCode} ${STATUS_CODES[appError.statusCode]}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Fastify's router errors (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH), named after the path. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_BAD_URL') return errorHandler(new AppError('validation_failed', `path: ${error.message}`, { field: 'path' }) as never, request, reply);
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return errorHandler(new AppError('uri_too_long', 'a path segment is too long', { field: 'path' }) as never, request, reply);
  return errorHandler(error, request, reply);
}

/** HTTP/1.1 requires a Host header; Node's own check would answer with an empty 400. */
export function missingHostError(request: FastifyRequest): AppError | undefined {
  if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
    return new AppError('validation_failed', 'an HTTP/1.1 request needs a Host header', { field: 'host' });
  }
  return undefined;
}

/** Node's 'checkExpectation' (an Expect header other than 100-continue): 417 in the standard shape. */
export function expectationFailed(_request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify(new AppError('expectation_failed', 'only "Expect: 100-continue" is supported', { field: 'expect' }).toJSON());
  response.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
}
