// What a browser sees when a request fails: the error as a page, with the status kept, never raw
// JSON. Routes with a form of their own (feedback) show that form again instead; see
// feedback/routes.ts.
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import type { AppError } from '../errors.js';
import { html } from './html.js';
import { sendPage } from './page.js';

export function sendErrorPage(reply: FastifyReply, error: AppError) {
  const title = `${error.statusCode} ${STATUS_CODES[error.statusCode] ?? 'Error'}`;
  const field = typeof error.details.field === 'string' ? error.details.field : undefined;
  return sendPage(reply, error.statusCode, title, html`<h1>${title}</h1>
<div class="alert" role="alert" id="error">${error.message}</div>
${field ? html`<p>It is about <code>${field}</code>.</p>` : ''}
<p><a href="/">Workyard home</a> · <a href="/docs">API docs</a> (what every route takes)</p>`);
}
